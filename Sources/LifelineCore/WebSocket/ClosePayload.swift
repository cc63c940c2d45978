/// Close frame payloads (RFC 6455 §5.5.1): a big-endian status code followed
/// by a UTF-8 reason. Owns their layout and the 125-byte limit on encoding.
public enum ClosePayload {
    /// Longest reason that fits a control frame (125 - 2 code bytes).
    public static let maxReasonBytes = 123

    /// Splits a close payload. `code` is nil when the payload is empty (or
    /// malformed with a single byte, which the decoder rejects before this);
    /// `reason` is the bytes after the code, possibly empty.
    @inlinable
    public static func parse(_ payload: UnsafeRawBufferPointer) -> (code: UInt16?, reason: UnsafeRawBufferPointer) {
        guard payload.count >= 2, let base = payload.baseAddress else {
            return (nil, UnsafeRawBufferPointer(start: payload.baseAddress, count: 0))
        }
        let code = UInt16(bigEndian: base.loadUnaligned(as: UInt16.self))
        return (code, UnsafeRawBufferPointer(start: base + 2, count: payload.count - 2))
    }

    /// Writes code + reason; returns the bytes written (≤ 125). A longer reason
    /// is truncated on a UTF-8 code point boundary.
    @inlinable
    public static func encode(code: CloseCode, reason: StaticString, to out: UnsafeMutableRawPointer) -> Int {
        reason.withUTF8Buffer { encode(code: code, reasonBytes: UnsafeRawBufferPointer($0), to: out) }
    }

    /// Writes code + reason; returns the bytes written (≤ 125). A longer reason
    /// is truncated on a UTF-8 code point boundary.
    @inlinable
    public static func encode(code: CloseCode, reason: String, to out: UnsafeMutableRawPointer) -> Int {
        var reason = reason
        return reason.withUTF8 { encode(code: code, reasonBytes: UnsafeRawBufferPointer($0), to: out) }
    }

    /// Writes code + reason bytes (assumed valid UTF-8); returns the bytes
    /// written (≤ 125). A longer reason is truncated on a code point boundary.
    @inlinable
    public static func encode(code: CloseCode, reasonBytes: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) -> Int {
        out.storeBytes(of: code.rawValue.bigEndian, as: UInt16.self)
        var length = reasonBytes.count
        if length > maxReasonBytes {
            length = maxReasonBytes
            // Back up while the first dropped byte continues the last kept code point.
            while length > 0 && reasonBytes[length] & 0xC0 == 0x80 { length -= 1 }
        }
        if length > 0, let src = reasonBytes.baseAddress {
            (out + 2).copyMemory(from: src, byteCount: length)
        }
        return 2 + length
    }
}
