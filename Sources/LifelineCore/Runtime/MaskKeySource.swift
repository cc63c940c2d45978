import COpenSSL

/// Masking keys for the frames Lifeline sends upstream (RFC 6455 §5.3 wants them
/// unpredictable): drawn from OpenSSL's CSPRNG 1,024 at a time, so a frame costs a load.
/// Owns its key block (a plain allocation, not an array: taking a key must not retain
/// anything); its event loop frees it with `release()`.
struct MaskKeySource {
    private static let blockSize = 1024
    private let keys = UnsafeMutablePointer<UInt32>.allocate(capacity: MaskKeySource.blockSize)
    private var next = MaskKeySource.blockSize

    mutating func nextKey() -> UInt32 {
        if next == MaskKeySource.blockSize { refill() }
        defer { next += 1 }
        return keys[next]
    }

    private mutating func refill() {
        let ok = RAND_bytes(UnsafeMutableRawPointer(keys).assumingMemoryBound(to: UInt8.self), Int32(MaskKeySource.blockSize * 4))
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        next = 0
    }

    /// Gives the key block back (the owning loop's deinit).
    func release() { keys.deallocate() }
}
