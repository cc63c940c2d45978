import COpenSSL

/// Masking keys for the frames Lifeline sends upstream (RFC 6455 §5.3 wants them
/// unpredictable): drawn from OpenSSL's CSPRNG 1,024 at a time, so a frame costs a load.
struct MaskKeySource {
    private var keys = [UInt32](repeating: 0, count: 1024)
    private var next = 1024

    mutating func nextKey() -> UInt32 {
        if next == keys.count { refill() }
        defer { next += 1 }
        return keys[next]
    }

    private mutating func refill() {
        let ok = keys.withUnsafeMutableBytes { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32($0.count)) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        next = 0
    }
}
