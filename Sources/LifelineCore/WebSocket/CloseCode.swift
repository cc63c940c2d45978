/// Close status codes (RFC 6455 §7.4). Owns the named codes and the rule for
/// which codes a peer may put on the wire.
public struct CloseCode: RawRepresentable, Hashable {
    public var rawValue: UInt16

    @inlinable
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = CloseCode(rawValue: 1000)
    public static let goingAway = CloseCode(rawValue: 1001)
    public static let protocolError = CloseCode(rawValue: 1002)
    public static let unsupportedData = CloseCode(rawValue: 1003)
    /// Never sent: stands for "the close frame had no payload".
    public static let noStatus = CloseCode(rawValue: 1005)
    /// Never sent: stands for "the connection dropped without a close frame".
    public static let abnormal = CloseCode(rawValue: 1006)
    public static let invalidPayload = CloseCode(rawValue: 1007)
    public static let policyViolation = CloseCode(rawValue: 1008)
    public static let messageTooBig = CloseCode(rawValue: 1009)
    public static let mandatoryExtension = CloseCode(rawValue: 1010)
    public static let internalError = CloseCode(rawValue: 1011)

    /// May a peer send this code in a close frame? 1000–1003, 1007–1011 and
    /// 3000–4999 may; 0–999, 1004–1006, 1012–2999 and ≥ 5000 may not.
    @inlinable
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }
}
