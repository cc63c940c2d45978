/// A parsed, validated downstream upgrade request.
public struct UpgradeRequest: Equatable {
    /// As received.
    public var method: String
    /// As received.
    public var target: String
    /// Path+query to append to the upstream URL path: origin-form as is; absolute-form
    /// (ws://h/x?y, http://h/x) → "/x?y"; absolute-form with an empty path → "/".
    public var path: String
    /// In arrival order, names as received.
    public var headers: [HTTPHeader]
    /// Sec-WebSocket-Key (validated: base64 of 16 bytes).
    public var key: String
    /// Sec-WebSocket-Protocol values, comma-split, trimmed, all occurrences, empties dropped.
    public var subprotocols: [String]

    public init(method: String, target: String, path: String, headers: [HTTPHeader], key: String, subprotocols: [String]) {
        self.method = method
        self.target = target
        self.path = path
        self.headers = headers
        self.key = key
        self.subprotocols = subprotocols
    }

    /// Case-insensitive, first match.
    public func header(_ name: String) -> String? {
        headers.first(named: name)
    }
}
