import XCTest
@testable import LifelineCore

/// Every hostile handshake input of SECURITY.md's table gets its status and metric reason:
/// requests from the app (400/426/431 + reason) and upstream responses (invalid + reason).
final class HTTPHostileInputTests: XCTestCase {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    static let baseLines = ["Host: app.example", "Upgrade: websocket", "Connection: Upgrade",
                            "Sec-WebSocket-Key: \(key)", "Sec-WebSocket-Version: 13"]

    static func request(target: String = "/x", _ lines: [String] = baseLines, extra: [String] = []) -> String {
        (["GET \(target) HTTP/1.1"] + lines + extra).joined(separator: "\r\n") + "\r\n\r\n"
    }

    func rejection(_ text: String) -> HTTPRejection? {
        var parser = UpgradeRequestParser()
        if case .reject(let r) = Array(text.utf8).withUnsafeBytes({ parser.parse($0) }) { return r }
        return nil
    }

    func assertRejected(_ text: String, _ status: Int, _ input: RejectedInput, file: StaticString = #filePath, line: UInt = #line) {
        let r = rejection(text)
        XCTAssertEqual(r?.status, status, "\(r?.reason ?? "accepted")", file: file, line: line)
        XCTAssertEqual(r?.input, input, "\(r?.reason ?? "accepted")", file: file, line: line)
    }

    // MARK: requests

    func testSizeLimitsAre431() {
        assertRejected(Self.request(extra: ["X-Pad: " + String(repeating: "a", count: 9000)]), 431, .headTooLarge)
        assertRejected(Self.request(extra: (0..<100).map { "X-F\($0): 1" }), 431, .tooManyFields)
    }

    func testBadBytesAre400() {
        assertRejected(Self.request(extra: ["X-Bad: a\u{0}b"]), 400, .badCharacter)
        assertRejected(Self.request(extra: ["X-Bad: a\rb"]), 400, .badCharacter)
        assertRejected(Self.request(extra: ["X-Bad: a\nb"]), 400, .badCharacter)
        assertRejected(Self.request(extra: ["X-Bad: a\u{1}b"]), 400, .badCharacter)
        assertRejected(Self.request(extra: ["X-Folded: a", " b"]), 400, .obsFold)
        assertRejected(Self.request(extra: ["X-Bad : a"]), 400, .badHeaderSyntax)
        assertRejected(Self.request(extra: ["no colon"]), 400, .badHeaderSyntax)
        assertRejected("GET /x HTTP/1.0\r\nHost: h\r\n\r\n", 400, .badRequestLine)
        assertRejected("GET  /x HTTP/1.1\r\nHost: h\r\n\r\n", 400, .badRequestLine)
    }

    func testTargetsThatLeaveThePathAre400() {
        assertRejected(Self.request(target: "/a/../admin"), 400, .badTarget)
        assertRejected(Self.request(target: "evil.example:443"), 400, .badTarget)
        assertRejected(Self.request(target: "*"), 400, .badTarget)
    }

    func testAbsoluteFormKeepsOnlyThePath() {
        var parser = UpgradeRequestParser()
        let text = Self.request(target: "http://evil.example/x?y=1", ["Host: evil.example"] + Self.baseLines.dropFirst())
        guard case .request(let request, _) = Array(text.utf8).withUnsafeBytes({ parser.parse($0) }) else {
            return XCTFail("absolute-form refused")
        }
        XCTAssertEqual(request.path, "/x?y=1")
    }

    func testDuplicateSingletonFieldsAre400() {
        for field in ["Host: other.example", "Upgrade: websocket", "Sec-WebSocket-Key: \(Self.key)", "Sec-WebSocket-Version: 13"] {
            assertRejected(Self.request(extra: [field]), 400, .duplicateHeader)
        }
        // List fields may repeat.
        XCTAssertNil(rejection(Self.request(extra: ["Connection: keep-alive", "Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: b"])))
    }

    func testConflictingFieldsAre400() {
        assertRejected(Self.request(extra: ["Content-Length: 0", "Transfer-Encoding: chunked"]), 400, .conflictingHeader)
        assertRejected(Self.request(extra: ["Connection: close"]), 400, .conflictingHeader)
        for named in ["Host", "Sec-WebSocket-Key", "sec-websocket-version", "Sec-WebSocket-Protocol"] {
            assertRejected(Self.request(extra: ["Connection: \(named)"]), 400, .conflictingHeader)
        }
    }

    func testBodiesAre400() {
        assertRejected(Self.request(extra: ["Content-Length: 5"]), 400, .bodyOnUpgrade)
        assertRejected(Self.request(extra: ["Content-Length: 0", "Content-Length: 7"]), 400, .bodyOnUpgrade)
        assertRejected(Self.request(extra: ["Transfer-Encoding: chunked"]), 400, .bodyOnUpgrade)
        XCTAssertNil(rejection(Self.request(extra: ["Content-Length: 0"])))
    }

    func testMissingPiecesAndNonUpgrades() {
        assertRejected(Self.request(Array(Self.baseLines.dropFirst())), 400, .badHandshake)
        assertRejected(Self.request(Self.baseLines.filter { !$0.hasPrefix("Sec-WebSocket-Key") }), 400, .badHandshake)
        assertRejected("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 426, .notWebSocket)
    }

    // MARK: upstream responses

    func invalid(_ text: String, eof: Bool = false) -> RejectedInput? {
        var parser = UpgradeResponseParser(expectedAccept: Self.accept, offeredProtocols: [])
        if case .invalid(let input, _) = Array(text.utf8).withUnsafeBytes({ parser.parse($0, eof: eof) }) { return input }
        return nil
    }

    static func switching(_ extra: [String] = []) -> String {
        (["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
          "Sec-WebSocket-Accept: \(accept)"] + extra).joined(separator: "\r\n") + "\r\n\r\n"
    }

    func testA101WithABodyIsInvalid() {
        XCTAssertEqual(invalid(Self.switching(["Content-Length: 10"])), .bodyOn101)
        XCTAssertEqual(invalid(Self.switching(["Transfer-Encoding: chunked"])), .bodyOn101)
        XCTAssertEqual(invalid(Self.switching(["Content-Length: 0", "Content-Length: 1"])), .bodyOn101)
        var parser = UpgradeResponseParser(expectedAccept: Self.accept, offeredProtocols: [])
        let ok = Array(Self.switching(["Content-Length: 0"]).utf8).withUnsafeBytes { parser.parse($0, eof: false) }
        guard case .switching = ok else { return XCTFail("101 with Content-Length: 0 refused: \(ok)") }
    }

    func testResponseHeadLimits() {
        XCTAssertEqual(invalid("HTTP/1.1 200 OK\r\n" + (0..<101).map { "X-\($0): 1\r\n" }.joined() + "\r\n"), .tooManyFields)
        XCTAssertNil(invalid("HTTP/1.1 204 OK\r\n" + (0..<100).map { "X-\($0): 1\r\n" }.joined() + "\r\n"))
        XCTAssertEqual(invalid("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 17000)), .headTooLarge)
        // An endless stream of small fields hits the byte limit too.
        XCTAssertEqual(invalid("HTTP/1.1 200 OK\r\n" + String(repeating: "X: y\r\n", count: 3000)), .headTooLarge)
    }

    func testBadStatusLinesAndBytes() {
        XCTAssertEqual(invalid("HTTP/2 101 Switching\r\n\r\n"), .badStatusLine)
        XCTAssertEqual(invalid("SSH-2.0-OpenSSH\r\n\r\n"), .badStatusLine)
        XCTAssertEqual(invalid("HTTP/1.1 99 Low\r\n\r\n"), .badStatusLine)
        XCTAssertEqual(invalid("HTTP/1.1 101 OK\r\nX: a\u{0}b\r\n\r\n"), .badCharacter)
        XCTAssertEqual(invalid("HTTP/1.1 101 OK\r\nX: a\n\r\n"), .badCharacter)
        XCTAssertEqual(invalid("HTTP/1.1 101 OK\r\nX: a\r\n b\r\n\r\n"), .obsFold)
    }

    func testBad101AndBodiesAndTruncation() {
        XCTAssertEqual(invalid(Self.switching().replacingOccurrences(of: Self.accept, with: "wrong")), .invalid101)
        XCTAssertEqual(invalid("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n"), .badBody)
        XCTAssertEqual(invalid("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", eof: true), .truncatedResponse)
        XCTAssertEqual(invalid("HTTP/1.1 101 Swi", eof: true), .truncatedResponse)
    }

    func testEveryReasonHasADistinctLabelAndASide() {
        let labels = RejectedInput.allCases.map(\.label)
        XCTAssertEqual(Set(labels).count, labels.count)
        for input in RejectedInput.allCases {
            XCTAssertTrue(input.applies(to: .downstream) || input.applies(to: .upstream), input.label)
        }
    }
}
