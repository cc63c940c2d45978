/// Whole-frame encoder for the small frames Lifeline writes itself (pings,
/// pongs, closes). Owns the one-shot header + payload layout for payloads ≤ 125.
public enum ControlFrame {
    /// 2 header bytes + 4 mask key bytes + 125 payload bytes.
    public static let maxEncodedLength = 131
    /// Largest control frame payload (RFC 6455 §5.5).
    public static let maxPayloadLength = 125

    /// Writes a complete FIN frame; masks the payload when `maskKey` is set.
    /// Returns the bytes written (≤ `maxEncodedLength`). `to` must not overlap `payload`.
    @inlinable
    public static func encode(opcode: Opcode, payload: UnsafeRawBufferPointer,
                              maskKey: UInt32?, to out: UnsafeMutableRawPointer) -> Int {
        precondition(payload.count <= maxPayloadLength, "control frame payload over 125 bytes")
        let header = FrameHeader(fin: true, opcode: opcode, maskKey: maskKey, payloadLength: payload.count)
        let headerLength = header.encode(to: out)
        if let src = payload.baseAddress, payload.count > 0 {
            if let key = maskKey {
                Masking.copy(from: src, to: out + headerLength, count: payload.count, key: key, offset: 0)
            } else {
                (out + headerLength).copyMemory(from: src, byteCount: payload.count)
            }
        }
        return headerLength + payload.count
    }

    /// Writes a complete close frame with this code and reason (truncated on a
    /// UTF-8 boundary to fit). Returns the bytes written (≤ `maxEncodedLength`).
    @inlinable
    public static func encodeClose(code: CloseCode, reason: StaticString, maskKey: UInt32?,
                                   to out: UnsafeMutableRawPointer) -> Int {
        reason.withUTF8Buffer {
            encodeClose(code: code, reasonBytes: UnsafeRawBufferPointer($0), maskKey: maskKey, to: out)
        }
    }

    /// Writes a complete close frame with this code and reason (truncated on a
    /// UTF-8 boundary to fit). Returns the bytes written (≤ `maxEncodedLength`).
    @inlinable
    public static func encodeClose(code: CloseCode, reasonBytes: UnsafeRawBufferPointer, maskKey: UInt32?,
                                   to out: UnsafeMutableRawPointer) -> Int {
        // The payload length (≤ 125) never needs an extended length field.
        let headerLength = FrameHeader.encodedLength(payloadLength: 0, masked: maskKey != nil)
        let payloadLength = ClosePayload.encode(code: code, reasonBytes: reasonBytes, to: out + headerLength)
        let header = FrameHeader(fin: true, opcode: .close, maskKey: maskKey, payloadLength: payloadLength)
        _ = header.encode(to: out)
        if let key = maskKey {
            Masking.apply(out + headerLength, count: payloadLength, key: key, offset: 0)
        }
        return headerLength + payloadLength
    }
}
