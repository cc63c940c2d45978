/// The semantic checks that turn a syntactically valid request head into an `UpgradeRequest`,
/// in this order: target form; Host; fields that must appear once; fields that contradict each
/// other; body framing (all 400s); is it a WebSocket upgrade at all (426); version 13 (426);
/// Sec-WebSocket-Key (400).
enum UpgradeRequestValidator {
    /// Fields an upgrade request carries at most once: a second copy is either a mistake or an
    /// attempt to make two parsers disagree (RFC 9110 §5.3: not list fields, so never combined).
    static let singletonFields = ["Host", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"]

    /// Fields the handshake itself relies on: a Connection header naming one of them asks a
    /// proxy to drop it, which contradicts the request.
    static let fieldsConnectionMayNotName = ["host", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol"]

    static func validate(method: String, target: String, headers: [HTTPHeader]) -> Result<UpgradeRequest, HTTPRejection> {
        guard let path = RequestTarget.path(of: target) else {
            return .failure(.badRequest(.badTarget, "unsupported request target form"))
        }
        if RequestTarget.hasDotSegment(path) {
            return .failure(.badRequest(.badTarget, "dot segments in the request path are refused"))
        }
        if headers.count(named: "Host") == 0 {
            return .failure(.badRequest(.badHandshake, "missing Host header"))
        }
        for name in singletonFields where headers.count(named: name) > 1 {
            return .failure(.badRequest(.duplicateHeader, "duplicate \(name) header"))
        }
        if let conflict = conflict(in: headers) {
            return .failure(.badRequest(.conflictingHeader, conflict))
        }
        if headers.count(named: "Transfer-Encoding") > 0 {
            return .failure(.badRequest(.bodyOnUpgrade, "request body not allowed on upgrade"))
        }
        for length in headers.all(named: "Content-Length") {
            guard !length.isEmpty, length.utf8.allSatisfy({ $0 == UInt8(ascii: "0") }) else {
                return .failure(.badRequest(.bodyOnUpgrade, "request body not allowed on upgrade"))
            }
        }
        guard method == "GET",
              headers.containsToken("websocket", in: "Upgrade"),
              headers.containsToken("upgrade", in: "Connection")
        else {
            return .failure(.upgradeRequired("WebSocket upgrade required", full: true))
        }
        guard headers.all(named: "Sec-WebSocket-Version") == ["13"] else {
            return .failure(.upgradeRequired("unsupported WebSocket version", full: false))
        }
        guard let key = headers.first(named: "Sec-WebSocket-Key") else {
            return .failure(.badRequest(.badHandshake, "missing Sec-WebSocket-Key"))
        }
        guard Base64.decode(key)?.count == 16 else {
            return .failure(.badRequest(.badHandshake, "invalid Sec-WebSocket-Key"))
        }
        return .success(UpgradeRequest(
            method: method, target: target, path: path, headers: headers, key: key,
            subprotocols: headers.listElements(named: "Sec-WebSocket-Protocol")))
    }

    /// Why the framing or connection fields contradict each other, if they do: both
    /// Content-Length and Transfer-Encoding (the classic smuggling pair, RFC 9112 §6.1),
    /// `Connection: close` next to `upgrade`, or Connection naming a field the handshake needs.
    private static func conflict(in headers: [HTTPHeader]) -> String? {
        if headers.count(named: "Content-Length") > 0 && headers.count(named: "Transfer-Encoding") > 0 {
            return "both Content-Length and Transfer-Encoding"
        }
        let connection = headers.listElements(named: "Connection").map { $0.lowercased() }
        if connection.contains("close") && connection.contains("upgrade") {
            return "Connection: close contradicts Connection: upgrade"
        }
        if let named = connection.first(where: fieldsConnectionMayNotName.contains) {
            return "Connection names \(named), which the handshake needs"
        }
        return nil
    }
}
