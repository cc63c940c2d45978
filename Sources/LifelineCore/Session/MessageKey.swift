/// What `StreamSplice` remembers of a message instead of its bytes: its
/// `MessageHasher` hash and its length. Two messages with equal keys are taken
/// to be byte-identical.
struct MessageKey: Equatable {
    var hash: UInt64
    var length: UInt32

    init(hash: UInt64, length: Int) {
        self.hash = hash
        self.length = UInt32(truncatingIfNeeded: length)
    }

    /// Bits for choosing a hash-table slot, well spread even for small `hash`
    /// values (Fibonacci hashing: use the high bits).
    var spread: UInt64 {
        (hash ^ UInt64(length) &* 0xFF51_AFD7_ED55_8CCD) &* 0x9E37_79B9_7F4A_7C15
    }
}
