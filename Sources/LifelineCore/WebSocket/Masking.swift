/// Payload masking and unmasking (RFC 6455 §5.3; the same XOR both ways).
/// Owns the XOR loop: 128, then 16, bytes per step in 16-byte vectors, then 8 per step
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
        // 128 bytes per step in eight 16-byte vectors (LLVM's own vectorisation of the word
        // loop below does 32 with more bookkeeping); the phase is unchanged at every step.
        let key128 = unsafeBitCast((key64, key64), to: SIMD16<UInt8>.self)
        while i &+ 128 <= count {
            for lane in 0..<8 {
                let at = i &+ lane &* 16
                dst.storeBytes(of: src.loadUnaligned(fromByteOffset: at, as: SIMD16<UInt8>.self) ^ key128,
                               toByteOffset: at, as: SIMD16<UInt8>.self)
            }
            i &+= 128
        }
        while i &+ 16 <= count {
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self) ^ key128,
                           toByteOffset: i, as: SIMD16<UInt8>.self)
            i &+= 16
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
