/// One admin request as the handler sees it. Owns the method, the path (as sent, not
/// percent-decoded) and the query (the text after `?`, nil when there is no `?`).
public struct AdminRequest: Equatable, Sendable {
    public var method: String
    public var path: String
    public var query: String?

    public init(method: String, path: String, query: String? = nil) {
        self.method = method
        self.path = path
        self.query = query
    }
}

/// One admin response. Owns the status, content type, body and any extra header fields;
/// the server adds Content-Length and Connection itself.
public struct AdminResponse: Equatable, Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// Sent after Content-Type and Content-Length (unsafe fields are skipped).
    public var headers: [HTTPHeader]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.init(status: status, contentType: contentType, body: body, headers: [])
    }

    public init(status: Int, contentType: String, body: [UInt8], headers: [HTTPHeader]) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    /// `text/plain; charset=utf-8`, body as given.
    public static func text(_ status: Int, _ body: String) -> AdminResponse {
        AdminResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(body.utf8))
    }

    /// `application/json`, body as given.
    public static func json(_ status: Int, _ body: String) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: Array(body.utf8))
    }

    /// The bytes on the wire. HEAD responses keep the Content-Length of the body they omit.
    func serialized(includeBody: Bool, closing: Bool) -> [UInt8] {
        var head = HeadWriter(startLine: "HTTP/1.1 \(status) \(HTTPResponses.reasonPhrase(status))")
        head.add("Content-Type", contentType)
        head.add("Content-Length", String(body.count))
        for header in headers { head.add(header) }
        if closing { head.add("Connection", "close") }
        return head.finish(body: includeBody ? body : [])
    }
}
