/// Turns one complete request head (already approved by `HeadScanner`) into an
/// `AdminRequest` plus what the connection needs to know: whether it may stay open and
/// whether a body follows (which the admin server never reads). Owns the admin server's
/// request rules: origin-form targets only, HTTP/1.0 or 1.1, no malformed fields.
enum AdminServerRequestParser {
    /// Largest request head accepted; a larger one is answered with 431.
    static let maxHeadBytes = 8 * 1024
    static let maxHeaderFields = 100

    /// A request that parsed.
    struct Parsed: Equatable {
        var request: AdminRequest
        /// HTTP/1.1 without `Connection: close`.
        var keepAlive: Bool
        /// Content-Length other than 0, or Transfer-Encoding: the connection closes after answering.
        var hasBody: Bool
    }

    /// Either a request, or the status and reason to refuse it with.
    enum Outcome: Equatable {
        case request(Parsed)
        case reject(status: Int, reason: String)
    }

    static func parse(_ buffer: UnsafeRawBufferPointer, headEnd: Int) -> Outcome {
        let head: MessageHead
        do {
            head = try MessageHead(buffer, range: 0..<headEnd, maxFields: maxHeaderFields, lossyText: true)
        } catch {
            return .reject(status: error == .tooManyFields ? 431 : 400, reason: error.reason)
        }
        let parts = head.startLine.split(separator: HTTPSyntax.sp, omittingEmptySubsequences: false)
        guard parts.count == 3, HTTPSyntax.isToken(parts[0]) else { return .reject(status: 400, reason: "malformed request line") }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .reject(status: 400, reason: "unsupported HTTP version") }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .reject(status: 400, reason: "request target must be an absolute path")
        }
        let contentLength = head.headers.all(named: "Content-Length")
        guard contentLength.allSatisfy({ Int($0).map { $0 >= 0 } ?? false }) else {
            return .reject(status: 400, reason: "invalid Content-Length")
        }
        let hasBody = head.headers.count(named: "Transfer-Encoding") > 0 || contentLength.contains { Int($0) != 0 }
        let keepAlive = version == "HTTP/1.1" && !head.headers.containsToken("close", in: "Connection")
        let text = String(decoding: target, as: UTF8.self)
        let question = text.firstIndex(of: "?")
        let request = AdminRequest(method: String(decoding: parts[0], as: UTF8.self),
                                   path: String(text[..<(question ?? text.endIndex)]),
                                   query: question.map { String(text[text.index(after: $0)...]) })
        return .request(Parsed(request: request, keepAlive: keepAlive, hasBody: hasBody))
    }
}
