/// A parsed upstream response head.
public struct UpgradeResponse: Equatable {
    public var status: Int
    /// The reason phrase as sent (may be empty).
    public var reason: String
    /// In arrival order, names as received.
    public var headers: [HTTPHeader]
    /// The minor HTTP version of the status line (0 or 1, or higher 1.x).
    public var minorVersion: Int

    public init(status: Int, reason: String, headers: [HTTPHeader], minorVersion: Int = 1) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.minorVersion = minorVersion
    }

    /// Case-insensitive, first match.
    public func header(_ name: String) -> String? {
        headers.first(named: name)
    }

    /// The Sec-WebSocket-Protocol the server chose, trimmed; nil when absent or empty.
    public var subprotocol: String? {
        guard let value = header("Sec-WebSocket-Protocol") else { return nil }
        let trimmed = String(HTTPSyntax.trim(Substring(value)))
        return trimmed.isEmpty ? nil : trimmed
    }
}
