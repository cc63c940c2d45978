/// A 64-bit hash of one message fed in chunks (frames split across reads):
/// the same bytes give the same hash however they are split. Owns the running
/// state of one message; used by `StreamSplice` to compare messages from the
/// old and the new upstream connection without keeping their bytes.
///
/// Not cryptographic. An xxHash64-style single lane, 8 bytes at a time: each
/// little-endian word goes through the xxHash64 round (add × prime, rotate,
/// × prime), which is a bijection of the state for a given word and of the word
/// for a given state, so no input word can wipe earlier state. A partial word
/// between chunks waits in `pending`; `finalize` pads it with zeros, mixes in the
/// total length (so "" and "\0" differ) and applies the xxHash64 avalanche.
/// Fixed seed; no allocation.
public struct MessageHasher: Equatable, Sendable {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5
    private static let seed: UInt64 = 0x4C69_6665_6C69_6E65  // "Lifeline"

    private var state = MessageHasher.seed &+ MessageHasher.prime5
    /// Up to 7 bytes not yet forming a whole word, little-endian.
    private var pending: UInt64 = 0
    private var pendingCount = 0
    /// Bytes fed so far.
    public private(set) var length = 0

    public init() {}

    /// Feeds the next bytes of the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        let total = bytes.count
        guard total > 0 else { return }
        length += total
        var index = 0
        // Complete a word left over from the previous chunk.
        while pendingCount > 0, pendingCount < 8, index < total {
            pending |= UInt64(bytes[index]) << UInt64(pendingCount * 8)
            pendingCount += 1
            index += 1
        }
        if pendingCount == 8 {
            state = Self.round(state, pending)
            pending = 0
            pendingCount = 0
        }
        // Whole words straight from the chunk.
        while total - index >= 8 {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            state = Self.round(state, word)
            index += 8
        }
        // Keep the tail for the next chunk or `finalize`.
        while index < total {
            pending |= UInt64(bytes[index]) << UInt64(pendingCount * 8)
            pendingCount += 1
            index += 1
        }
    }

    /// The hash of every byte fed so far, including the total length.
    public func finalize() -> UInt64 {
        var hash = state
        if pendingCount > 0 { hash = Self.round(hash, pending) }
        hash ^= UInt64(truncatingIfNeeded: length) &* Self.prime5
        hash = Self.round(hash, UInt64(truncatingIfNeeded: length))
        hash ^= hash >> 33
        hash = hash &* Self.prime2
        hash ^= hash >> 29
        hash = hash &* Self.prime3
        hash ^= hash >> 32
        return hash
    }

    /// The hash of `bytes` as one whole message.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = MessageHasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    @inline(__always)
    private static func round(_ state: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = state &+ word &* prime2
        return ((mixed << 31) | (mixed >> 33)) &* prime1
    }
}
