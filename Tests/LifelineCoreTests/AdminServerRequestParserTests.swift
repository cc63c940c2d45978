import XCTest
@testable import LifelineCore

/// The admin request rules on complete heads: target forms, versions, keep-alive and bodies.
final class AdminServerRequestParserTests: XCTestCase {
    private func parse(_ text: String) -> AdminServerRequestParser.Outcome {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { AdminServerRequestParser.parse($0, headEnd: bytes.count) }
    }

    private func parsed(_ text: String) -> AdminServerRequestParser.Parsed? {
        if case .request(let parsed) = parse(text) { return parsed }
        return nil
    }

    func testPathQueryAndKeepAlive() {
        XCTAssertEqual(parsed("GET /connections?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
                       .init(request: AdminRequest(method: "GET", path: "/connections", query: "x=1"), keepAlive: true, hasBody: false))
        XCTAssertEqual(parsed("GET /? HTTP/1.1\r\n\r\n")?.request.query, "")
        XCTAssertEqual(parsed("GET /%2e HTTP/1.1\r\n\r\n")?.request.path, "/%2e", "paths are not decoded")
    }

    func testConnectionCloseAndHTTP10EndTheConnection() {
        XCTAssertEqual(parsed("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n")?.keepAlive, false)
        XCTAssertEqual(parsed("GET / HTTP/1.0\r\n\r\n")?.keepAlive, false)
        XCTAssertEqual(parsed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")?.keepAlive, false)
    }

    func testBodiesAreNoticed() {
        XCTAssertEqual(parsed("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")?.hasBody, false)
        XCTAssertEqual(parsed("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n")?.hasBody, true)
        XCTAssertEqual(parsed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")?.hasBody, true)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), .reject(status: 400, reason: "invalid Content-Length"))
    }

    func testMalformedRequestsAreRefused() {
        XCTAssertEqual(parse("GET  / HTTP/1.1\r\n\r\n"), .reject(status: 400, reason: "malformed request line"))
        XCTAssertEqual(parse("GET / HTTP/2.0\r\n\r\n"), .reject(status: 400, reason: "unsupported HTTP version"))
        XCTAssertEqual(parse("GET http://a/ HTTP/1.1\r\n\r\n"), .reject(status: 400, reason: "request target must be an absolute path"))
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), .reject(status: 400, reason: "invalid header name"))
    }
}
