/// The semantic checks that turn a syntactically valid request head into an `UpgradeRequest`,
/// in this order: target form, Host, body framing (400s); is it a WebSocket upgrade at all (426);
/// version 13 (426); Sec-WebSocket-Key (400).
enum UpgradeRequestValidator {
    static func validate(method: String, target: String, headers: [HTTPHeader]) -> Result<UpgradeRequest, HTTPRejection> {
        guard let path = RequestTarget.path(of: target) else {
            return .failure(.badRequest("unsupported request target form"))
        }
        if RequestTarget.hasDotSegment(path) {
            return .failure(.badRequest("dot segments in the request path are refused"))
        }
        switch headers.count(named: "Host") {
        case 0: return .failure(.badRequest("missing Host header"))
        case 1: break
        default: return .failure(.badRequest("duplicate Host header"))
        }
        if headers.count(named: "Transfer-Encoding") > 0 {
            return .failure(.badRequest("request body not allowed on upgrade"))
        }
        for length in headers.all(named: "Content-Length") {
            guard !length.isEmpty, length.utf8.allSatisfy({ $0 == UInt8(ascii: "0") }) else {
                return .failure(.badRequest("request body not allowed on upgrade"))
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
        let keys = headers.all(named: "Sec-WebSocket-Key")
        guard keys.count <= 1 else { return .failure(.badRequest("duplicate Sec-WebSocket-Key")) }
        guard let key = keys.first else { return .failure(.badRequest("missing Sec-WebSocket-Key")) }
        guard Base64.decode(key)?.count == 16 else {
            return .failure(.badRequest("invalid Sec-WebSocket-Key"))
        }
        return .success(UpgradeRequest(
            method: method, target: target, path: path, headers: headers, key: key,
            subprotocols: headers.listElements(named: "Sec-WebSocket-Protocol")))
    }
}
