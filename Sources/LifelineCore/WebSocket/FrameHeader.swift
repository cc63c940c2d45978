/// One frame header (RFC 6455 §5.2) and its wire encoding. Owns the length
/// encoding rules; parsing and validation live in `FrameHeaderParser`.
///
/// `maskKey` holds the four key bytes exactly as they appear on the wire,
/// read into a `UInt32` with `loadUnaligned` (host order), so payload byte `i`
/// is XORed with key byte `i % 4` in memory order. `nil` means unmasked.
public struct FrameHeader: Equatable {
    public var fin: Bool
    public var opcode: Opcode
    public var maskKey: UInt32?
    public var payloadLength: Int

    @inlinable
    public init(fin: Bool, opcode: Opcode, maskKey: UInt32?, payloadLength: Int) {
        self.fin = fin
        self.opcode = opcode
        self.maskKey = maskKey
        self.payloadLength = payloadLength
    }

    /// Bytes this header occupies on the wire with minimal length encoding (2...14).
    @inlinable
    public var encodedLength: Int {
        FrameHeader.encodedLength(payloadLength: payloadLength, masked: maskKey != nil)
    }

    /// Bytes a header occupies on the wire for this payload length (2...14).
    @inlinable
    public static func encodedLength(payloadLength: Int, masked: Bool) -> Int {
        let lengthBytes = payloadLength <= 125 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
        return 2 + lengthBytes + (masked ? 4 : 0)
    }

    /// Writes the header with minimal length encoding; returns the bytes written
    /// (`encodedLength`). The caller provides at least 14 writable bytes.
    @inlinable
    public func encode(to out: UnsafeMutableRawPointer) -> Int {
        precondition(payloadLength >= 0, "negative payload length")
        out.storeBytes(of: (fin ? 0x80 : 0) | opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        var at = 2
        if payloadLength <= 125 {
            out.storeBytes(of: maskBit | UInt8(truncatingIfNeeded: payloadLength), toByteOffset: 1, as: UInt8.self)
        } else if payloadLength <= 0xFFFF {
            out.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt16(truncatingIfNeeded: payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            at = 4
        } else {
            out.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt64(truncatingIfNeeded: payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            at = 10
        }
        if let key = maskKey {
            out.storeBytes(of: key, toByteOffset: at, as: UInt32.self)
            at += 4
        }
        return at
    }
}
