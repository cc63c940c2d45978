import XCTest
@testable import LifelineCore

final class HTTPUpstreamRequestBuilderTests: XCTestCase {
    func parsed(_ lines: [String]) throws -> UpgradeRequest {
        let bytes = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
        var parser = UpgradeRequestParser()
        guard case .request(let r, _) = bytes.withUnsafeBytes({ parser.parse($0) }) else {
            struct NotParsed: Error {}
            throw NotParsed()
        }
        return r
    }

    static let appRequest = [
        "GET /ws?token=1 HTTP/1.1",
        "Host: lifeline.local:8080",
        "Authorization: Bearer abc",
        "Connection: keep-alive, Upgrade, X-Hop",
        "Cookie: s=1; t=2",
        "Upgrade: websocket",
        "Origin: https://app.example",
        "User-Agent: test/1.0",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: chat, superchat",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        "X-Custom: hello",
        "X-Hop: secret",
        "Keep-Alive: timeout=5",
        "X-Forwarded-For: 1.2.3.4",
        "X-Forwarded-Proto: https",
        "Proxy-Authorization: Basic Zm9v",
        "TE: trailers",
    ]

    func testExactUpstreamRequest() throws {
        let request = try parsed(Self.appRequest)
        let bytes = UpstreamRequestBuilder.build(
            request: request, target: "/api/ws?token=1", hostHeader: "backend.internal:9000",
            key: "x3JJHMbDL1EzLkh9GBhXDw==", clientAddress: "10.0.0.7", clientProto: "http", extraHeaders: [])
        let expected = [
            "GET /api/ws?token=1 HTTP/1.1",
            "Host: backend.internal:9000",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==",
            "Sec-WebSocket-Version: 13",
            "Authorization: Bearer abc",
            "Cookie: s=1; t=2",
            "Origin: https://app.example",
            "User-Agent: test/1.0",
            "Sec-WebSocket-Protocol: chat, superchat",
            "X-Custom: hello",
            "X-Forwarded-For: 1.2.3.4, 10.0.0.7",
            "X-Forwarded-Proto: http",
        ].joined(separator: "\r\n") + "\r\n\r\n"
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), expected)
    }

    func testExtraHeadersReplaceForwardedOnesAndUnsafeOnesAreSkipped() throws {
        let request = try parsed([
            "GET / HTTP/1.1", "Host: h", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
            "authorization: Bearer client", "X-Keep: 1",
        ])
        let bytes = UpstreamRequestBuilder.build(
            request: request, target: "/", hostHeader: "b", key: "k", clientAddress: "::1", clientProto: "https",
            extraHeaders: [
                HTTPHeader(name: "Authorization", value: "Bearer service"),
                HTTPHeader(name: "X-Evil", value: "a\r\nInjected: 1"),
                HTTPHeader(name: "X-Nul", value: "a\u{0}"),
                HTTPHeader(name: "Bad Name", value: "v"),
                HTTPHeader(name: "host", value: "other"),
                HTTPHeader(name: "X-Forwarded-Proto", value: "wss"),
            ])
        let expected = [
            "GET / HTTP/1.1", "Host: b", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: k", "Sec-WebSocket-Version: 13",
            "X-Keep: 1",
            "X-Forwarded-For: ::1",
            "Authorization: Bearer service",
            "X-Forwarded-Proto: wss",
        ].joined(separator: "\r\n") + "\r\n\r\n"
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), expected)
    }

    func testMultipleForwardedForValuesAreJoined() throws {
        let request = try parsed([
            "GET / HTTP/1.1", "Host: h", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
            "X-Forwarded-For: 1.1.1.1", "x-forwarded-for: 2.2.2.2, 3.3.3.3",
        ])
        let text = String(decoding: UpstreamRequestBuilder.build(
            request: request, target: "/", hostHeader: "b", key: "k", clientAddress: "4.4.4.4", clientProto: "http",
            extraHeaders: []), as: UTF8.self)
        XCTAssertTrue(text.contains("\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4\r\n"), text)
        XCTAssertEqual(text.components(separatedBy: "orwarded-").count, 3)   // one For, one Proto
    }
}
