/// Reads and validates a frame header from the front of a buffer. Owns every
/// rule that can be decided from the header bytes alone (RSV bits, reserved
/// opcodes, control-frame shape, masking direction, 64-bit length top bit),
/// checking each as soon as the byte carrying it is present.
@usableFromInline
enum FrameHeaderParser {
    /// The outcome of looking at the front of a buffer: wait, a whole valid header, or a violation.
    @usableFromInline
    enum Result {
        case needMore
        case header(FrameHeader, headerLength: Int)
        case invalid(CloseCode, reason: StaticString)
    }

    @inlinable
    static func parse(_ base: UnsafeRawPointer?, count: Int, role: FrameRole) -> Result {
        guard count >= 1, let base = base else { return .needMore }
        let b0 = base.load(as: UInt8.self)
        if b0 & 0x70 != 0 {
            return .invalid(.protocolError, reason: "RSV bit set without a negotiated extension")
        }
        guard let opcode = Opcode(rawValue: b0 & 0x0F) else {
            return .invalid(.protocolError, reason: "reserved opcode")
        }
        let fin = b0 & 0x80 != 0
        if opcode.isControl && !fin {
            return .invalid(.protocolError, reason: "fragmented control frame")
        }
        guard count >= 2 else { return .needMore }

        let b1 = base.load(fromByteOffset: 1, as: UInt8.self)
        let masked = b1 & 0x80 != 0
        if masked != role.peerMustMask {
            return .invalid(.protocolError, reason: masked ? "masked frame from server" : "unmasked frame from client")
        }
        let length7 = Int(b1 & 0x7F)
        if opcode.isControl && length7 > 125 {
            return .invalid(.protocolError, reason: "control frame payload over 125 bytes")
        }
        let lengthBytes = length7 == 126 ? 2 : (length7 == 127 ? 8 : 0)
        guard count >= 2 + lengthBytes else { return .needMore }

        var payloadLength = length7
        if lengthBytes == 2 {
            payloadLength = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        } else if lengthBytes == 8 {
            let length64 = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            if length64 & (1 << 63) != 0 {
                return .invalid(.protocolError, reason: "64-bit payload length with the top bit set")
            }
            guard length64 <= UInt64(Int.max) else {
                return .invalid(.messageTooBig, reason: "payload length exceeds this platform")
            }
            payloadLength = Int(length64)
        }
        let headerLength = 2 + lengthBytes + (masked ? 4 : 0)
        guard count >= headerLength else { return .needMore }
        let key: UInt32? = masked ? base.loadUnaligned(fromByteOffset: 2 + lengthBytes, as: UInt32.self) : nil
        return .header(FrameHeader(fin: fin, opcode: opcode, maskKey: key, payloadLength: payloadLength),
                       headerLength: headerLength)
    }
}
