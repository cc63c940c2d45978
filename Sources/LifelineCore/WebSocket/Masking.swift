/// Payload masking and unmasking (RFC 6455 §5.3; the same XOR both ways).
/// Owns the XOR loop: 128 bytes per step (vectorised), then 8 per step
/// through unaligned loads/stores, a byte loop only for the tail.
///
/// `offset` is the position of the first byte within the frame payload; only
/// `offset % 4` matters, so a payload split across buffers masks correctly.
public enum Masking {
    /// XORs `count` bytes in place with the key.
    @inlinable
    public static func apply(_ bytes: UnsafeMutableRawPointer, count: Int, key: UInt32, offset: Int) {
        copy(from: UnsafeRawPointer(bytes), to: bytes, count: count, key: key, offset: offset)
    }

    /// Writes `src XOR key` to `dst`. `src` and `dst` either do not overlap or
    /// are the same pointer (which is how `apply` uses it).
    @inlinable
    public static func copy(from src: UnsafeRawPointer, to dst: UnsafeMutableRawPointer,
                            count: Int, key: UInt32, offset: Int) {
        let key32 = rotated(key, by: offset & 3)
        let key64 = UInt64(key32) | UInt64(key32) << 32
        var i = 0
        // 128 bytes per step as sixteen 8-byte words, all loaded before any is stored, which
        // LLVM turns into 16-byte vector operations even though `src` may be `dst` (its own
        // vectorisation of the word loop below does 32 bytes with more bookkeeping). Plain
        // UInt64s, not SIMD types: debug builds (the e2e tests) would run SIMD operators
        // through generic code, element by element.
        while i &+ 128 <= count {
            let w0 = src.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let w1 = src.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
            let w2 = src.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self)
            let w3 = src.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self)
            let w4 = src.loadUnaligned(fromByteOffset: i &+ 32, as: UInt64.self)
            let w5 = src.loadUnaligned(fromByteOffset: i &+ 40, as: UInt64.self)
            let w6 = src.loadUnaligned(fromByteOffset: i &+ 48, as: UInt64.self)
            let w7 = src.loadUnaligned(fromByteOffset: i &+ 56, as: UInt64.self)
            let w8 = src.loadUnaligned(fromByteOffset: i &+ 64, as: UInt64.self)
            let w9 = src.loadUnaligned(fromByteOffset: i &+ 72, as: UInt64.self)
            let w10 = src.loadUnaligned(fromByteOffset: i &+ 80, as: UInt64.self)
            let w11 = src.loadUnaligned(fromByteOffset: i &+ 88, as: UInt64.self)
            let w12 = src.loadUnaligned(fromByteOffset: i &+ 96, as: UInt64.self)
            let w13 = src.loadUnaligned(fromByteOffset: i &+ 104, as: UInt64.self)
            let w14 = src.loadUnaligned(fromByteOffset: i &+ 112, as: UInt64.self)
            let w15 = src.loadUnaligned(fromByteOffset: i &+ 120, as: UInt64.self)
            dst.storeBytes(of: w0 ^ key64, toByteOffset: i, as: UInt64.self)
            dst.storeBytes(of: w1 ^ key64, toByteOffset: i &+ 8, as: UInt64.self)
            dst.storeBytes(of: w2 ^ key64, toByteOffset: i &+ 16, as: UInt64.self)
            dst.storeBytes(of: w3 ^ key64, toByteOffset: i &+ 24, as: UInt64.self)
            dst.storeBytes(of: w4 ^ key64, toByteOffset: i &+ 32, as: UInt64.self)
            dst.storeBytes(of: w5 ^ key64, toByteOffset: i &+ 40, as: UInt64.self)
            dst.storeBytes(of: w6 ^ key64, toByteOffset: i &+ 48, as: UInt64.self)
            dst.storeBytes(of: w7 ^ key64, toByteOffset: i &+ 56, as: UInt64.self)
            dst.storeBytes(of: w8 ^ key64, toByteOffset: i &+ 64, as: UInt64.self)
            dst.storeBytes(of: w9 ^ key64, toByteOffset: i &+ 72, as: UInt64.self)
            dst.storeBytes(of: w10 ^ key64, toByteOffset: i &+ 80, as: UInt64.self)
            dst.storeBytes(of: w11 ^ key64, toByteOffset: i &+ 88, as: UInt64.self)
            dst.storeBytes(of: w12 ^ key64, toByteOffset: i &+ 96, as: UInt64.self)
            dst.storeBytes(of: w13 ^ key64, toByteOffset: i &+ 104, as: UInt64.self)
            dst.storeBytes(of: w14 ^ key64, toByteOffset: i &+ 112, as: UInt64.self)
            dst.storeBytes(of: w15 ^ key64, toByteOffset: i &+ 120, as: UInt64.self)
            i &+= 128
        }
        let wordEnd = count & ~7
        while i < wordEnd {
            let word = src.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            dst.storeBytes(of: word ^ key64, toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        // Tail: fewer than 8 bytes; `i` is a multiple of 8, so the phase is unchanged.
        var tailKey = key64
        while i < count {
            let byte = src.load(fromByteOffset: i, as: UInt8.self)
            dst.storeBytes(of: byte ^ firstByte(tailKey), toByteOffset: i, as: UInt8.self)
            tailKey = shiftedOneByte(tailKey)
            i &+= 1
        }
    }

    /// The key re-phased so its first byte in memory is key byte `shift`.
    @inlinable
    static func rotated(_ key: UInt32, by shift: Int) -> UInt32 {
        let bits = UInt32(truncatingIfNeeded: shift &* 8)
        #if _endian(little)
        return key &>> bits | key &<< (32 &- bits)
        #else
        return key &<< bits | key &>> (32 &- bits)
        #endif
    }

    /// The byte of `word` that sits first in memory.
    @inlinable
    static func firstByte(_ word: UInt64) -> UInt8 {
        #if _endian(little)
        return UInt8(truncatingIfNeeded: word)
        #else
        return UInt8(truncatingIfNeeded: word >> 56)
        #endif
    }

    /// `word` advanced by one byte in memory order.
    @inlinable
    static func shiftedOneByte(_ word: UInt64) -> UInt64 {
        #if _endian(little)
        return word >> 8
        #else
        return word << 8
        #endif
    }
}
