/// A WebSocket frame opcode (RFC 6455 §5.2). Owns the set of opcodes this
/// codec understands; the reserved values 0x3–0x7 and 0xB–0xF have no case,
/// so `Opcode(rawValue:)` returning nil is exactly "reserved opcode".
public enum Opcode: UInt8 {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// Control frames (close, ping, pong) have the high opcode bit set (§5.5).
    @inlinable
    public var isControl: Bool { rawValue & 0x8 != 0 }
}
