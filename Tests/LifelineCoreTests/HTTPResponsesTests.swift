import XCTest
@testable import LifelineCore

final class HTTPResponsesTests: XCTestCase {
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testSwitchingProtocols() {
        XCTAssertEqual(text(HTTPResponses.switchingProtocols(accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", subprotocol: "chat")),
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
        XCTAssertEqual(text(HTTPResponses.switchingProtocols(accept: "x", subprotocol: nil)),
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
    }

    func testErrorWithRejectionHeaders() {
        let rejection = HTTPRejection.upgradeRequired("WebSocket upgrade required", full: true)
        XCTAssertEqual(text(HTTPResponses.error(status: rejection.status, body: "héllo\n", extraHeaders: rejection.extraHeaders)),
                       "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 7\r\n"
                       + "Connection: close\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\nhéllo\n")
        XCTAssertEqual(text(HTTPResponses.error(status: 502, body: "")),
                       "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    func testRelayedKeepsEndToEndHeadersAndRecomputesLength() {
        let response = UpgradeResponse(status: 401, reason: "Nope", headers: [
            HTTPHeader(name: "WWW-Authenticate", value: "Bearer realm=\"x\""),
            HTTPHeader(name: "Connection", value: "close, X-Internal"),
            HTTPHeader(name: "X-Internal", value: "1"),
            HTTPHeader(name: "Transfer-Encoding", value: "chunked"),
            HTTPHeader(name: "Content-Type", value: "application/json"),
            HTTPHeader(name: "Keep-Alive", value: "timeout=5"),
            HTTPHeader(name: "Content-Length", value: "999"),
        ])
        XCTAssertEqual(text(HTTPResponses.relayed(response, body: Array("{}".utf8))),
                       "HTTP/1.1 401 Nope\r\nWWW-Authenticate: Bearer realm=\"x\"\r\nContent-Type: application/json\r\n"
                       + "Content-Length: 2\r\nConnection: close\r\n\r\n{}")
        let bare = UpgradeResponse(status: 404, reason: "", headers: [])
        XCTAssertEqual(text(HTTPResponses.relayed(bare, body: [])), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        let noContent = UpgradeResponse(status: 204, reason: "No Content", headers: [])
        XCTAssertEqual(text(HTTPResponses.relayed(noContent, body: [1])), "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    }

    func testReasonPhrases() {
        let expected = [101: "Switching Protocols", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                        404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 426: "Upgrade Required",
                        429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
                        502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 418: "Client Error", 799: "Unknown"]
        for (status, phrase) in expected { XCTAssertEqual(HTTPResponses.reasonPhrase(status), phrase) }
    }
}
