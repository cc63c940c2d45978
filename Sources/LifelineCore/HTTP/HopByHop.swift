/// Which header fields describe one connection rather than the message (RFC 9110 §7.6.1),
/// so a proxy must not pass them on: the fixed list plus any field the Connection header names.
enum HopByHop {
    static let fixed: [String] = [
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
    ]

    /// Lowercased names to drop from `headers`: `fixed`, `also`, and the Connection-named fields.
    static func names(in headers: [HTTPHeader], also: [String] = []) -> Set<String> {
        var set = Set((fixed + also).map { $0.lowercased() })
        for token in headers.listElements(named: "Connection") { set.insert(token.lowercased()) }
        return set
    }
}
