/// Responses Lifeline writes to the app.
public enum HTTPResponses {
    /// The 101 completing the app's handshake, carrying the subprotocol upstream chose.
    public static func switchingProtocols(accept: String, subprotocol: String?) -> [UInt8] {
        var head = HeadWriter(startLine: "HTTP/1.1 101 Switching Protocols")
        head.add("Upgrade", "websocket")
        head.add("Connection", "Upgrade")
        head.add("Sec-WebSocket-Accept", accept)
        if let subprotocol { head.add("Sec-WebSocket-Protocol", subprotocol) }
        return head.finish()
    }

    /// Any status with a text body: Content-Type text/plain; charset=utf-8, Content-Length,
    /// Connection: close, plus extraHeaders (unsafe ones skipped). The body is sent as given.
    public static func error(status: Int, body: String, extraHeaders: [HTTPHeader] = []) -> [UInt8] {
        let bytes = Array(body.utf8)
        var head = HeadWriter(startLine: "HTTP/1.1 \(status) \(reasonPhrase(status))")
        head.add("Content-Type", "text/plain; charset=utf-8")
        head.add("Content-Length", String(bytes.count))
        head.add("Connection", "close")
        for header in extraHeaders { head.add(header) }
        return head.finish(body: bytes)
    }

    /// An upstream refusal passed through: same status and reason phrase (the standard phrase if
    /// upstream sent none) and body; end-to-end response headers kept (e.g. WWW-Authenticate,
    /// Content-Type), hop-by-hop, Content-Length, Transfer-Encoding and Sec-WebSocket-Accept dropped,
    /// Content-Length recomputed (omitted for 204/304, which carry no body), Connection: close.
    public static func relayed(_ response: UpgradeResponse, body: [UInt8]) -> [UInt8] {
        let reason = response.reason.isEmpty ? reasonPhrase(response.status) : response.reason
        var head = HeadWriter(startLine: "HTTP/1.1 \(response.status) \(reason)")
        let dropped = HopByHop.names(in: response.headers, also: ["Sec-WebSocket-Accept"])
        for header in response.headers where !dropped.contains(header.name.lowercased()) {
            head.add(header)
        }
        let bodyless = response.status == 204 || response.status == 304
        if !bodyless { head.add("Content-Length", String(body.count)) }
        head.add("Connection", "close")
        return head.finish(body: bodyless ? [] : body)
    }

    /// The standard phrase for common statuses; a class-generic one otherwise.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        case 100..<200: return "Informational"
        case 200..<300: return "Success"
        case 300..<400: return "Redirection"
        case 400..<500: return "Client Error"
        case 500..<600: return "Server Error"
        default: return "Unknown"
        }
    }
}
