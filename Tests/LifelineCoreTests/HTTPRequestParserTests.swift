import XCTest
@testable import LifelineCore

final class HTTPRequestParserTests: XCTestCase {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    static func head(target: String = "/chat?room=1", version: String = "HTTP/1.1", method: String = "GET", _ extra: [String] = []) -> String {
        ([
            "\(method) \(target) \(version)",
            "Host: app.example",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: \(key)",
            "Sec-WebSocket-Version: 13",
        ] + extra).joined(separator: "\r\n") + "\r\n\r\n"
    }

    func parse(_ text: String, maxHeadBytes: Int = 8192, maxHeaderCount: Int = 100) -> RequestParseResult {
        parse(Array(text.utf8), maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount)
    }

    func parse(_ bytes: [UInt8], maxHeadBytes: Int = 8192, maxHeaderCount: Int = 100) -> RequestParseResult {
        var parser = UpgradeRequestParser(maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount)
        return bytes.withUnsafeBytes { parser.parse($0) }
    }

    func rejection(_ text: String, maxHeadBytes: Int = 8192, maxHeaderCount: Int = 100) -> HTTPRejection? {
        if case .reject(let r) = parse(text, maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount) { return r }
        return nil
    }

    func status(_ text: String) -> Int? { rejection(text)?.status }

    func request(_ text: String) -> UpgradeRequest? {
        if case .request(let r, _) = parse(text) { return r }
        return nil
    }

    // MARK: accepted requests

    func testValidUpgradeParses() throws {
        let text = Self.head(["Sec-WebSocket-Protocol: chat, superchat", "sec-websocket-protocol:  v2 ,", "X-Custom: a"])
        guard case .request(let r, let headLength) = parse(text) else { return XCTFail("\(parse(text))") }
        XCTAssertEqual(headLength, text.utf8.count)
        XCTAssertEqual(r.method, "GET")
        XCTAssertEqual(r.target, "/chat?room=1")
        XCTAssertEqual(r.path, "/chat?room=1")
        XCTAssertEqual(r.key, Self.key)
        XCTAssertEqual(r.subprotocols, ["chat", "superchat", "v2"])
        XCTAssertEqual(r.headers.count, 8)
        XCTAssertEqual(r.headers[6], HTTPHeader(name: "sec-websocket-protocol", value: "v2 ,"))
        XCTAssertEqual(r.header("x-CUSTOM"), "a")
        XCTAssertEqual(r.header("sec-websocket-protocol"), "chat, superchat")
        XCTAssertNil(r.header("Cookie"))
    }

    func testTokensAreCaseInsensitiveAndListed() {
        let text = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: keep-alive, UPGRADE\r\n"
            + "Sec-WebSocket-Key: \(Self.key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        XCTAssertNotNil(request(text))
    }

    func testEveryByteSplitGivesSameResultAndKeepsPipelinedBytes() {
        let text = Self.head(["Cookie: a=b"])
        let frame: [UInt8] = [0x81, 0x85, 1, 2, 3, 4, 0x49, 0x67, 0x6F, 0x68, 0x6E]
        let all = Array(text.utf8) + frame
        let expected = parse(all)
        guard case .request(_, let headLength) = expected else { return XCTFail("\(expected)") }
        XCTAssertEqual(headLength, text.utf8.count)
        XCTAssertEqual(Array(all[headLength...]), frame)
        for split in 0...all.count {
            var parser = UpgradeRequestParser()
            let first = Array(all[..<split]).withUnsafeBytes { parser.parse($0) }
            if split < headLength { XCTAssertEqual(first, .needMore, "split \(split)") } else { XCTAssertEqual(first, expected) }
            XCTAssertEqual(all.withUnsafeBytes { parser.parse($0) }, expected, "split \(split)")
        }
    }

    func testGrowingOneByteAtATime() {
        let all = Array(Self.head().utf8)
        var parser = UpgradeRequestParser()
        for n in 1..<all.count {
            XCTAssertEqual(Array(all[..<n]).withUnsafeBytes { parser.parse($0) }, .needMore, "at \(n)")
        }
        guard case .request(_, let headLength) = all.withUnsafeBytes({ parser.parse($0) }) else { return XCTFail() }
        XCTAssertEqual(headLength, all.count)
    }

    // MARK: 431

    func testHeadOverLimitWithoutEndIs431() {
        let text = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 9000)
        XCTAssertEqual(status(text), 431)
    }

    func testHeadLimitIsExact() {
        let base = Self.head()
        XCTAssertNotNil(request(base))
        if case .request = parse(base, maxHeadBytes: base.utf8.count) {} else { XCTFail("head of exactly max bytes must pass") }
        XCTAssertEqual(rejection(base, maxHeadBytes: base.utf8.count - 1)?.status, 431)
    }

    func testTooManyHeaderFieldsIs431() {
        let hundred = Self.head((0..<95).map { "X-H\($0): v" })   // 5 + 95 = 100 fields
        XCTAssertNotNil(request(hundred))
        let tooMany = Self.head((0..<96).map { "X-H\($0): v" })
        XCTAssertEqual(status(tooMany), 431)
    }

    // MARK: 400

    func testBareCRIs400() {
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"), 400)
    }

    func testBareCRAtEndWaitsForNextByte() {
        XCTAssertEqual(parse("GET / HTTP/1.1\r"), .needMore)
        XCTAssertEqual(status("GET / HTTP/1.1\rx"), 400)
    }

    func testNULIs400() {
        XCTAssertEqual(status(Self.head(["X-A: a\u{0}b"])), 400)
        XCTAssertEqual(status("GET /\u{0} HTTP/1.1\r\n"), 400)
    }

    func testLFOnlyLineEndingsAre400() {
        XCTAssertEqual(status("GET / HTTP/1.1\nHost: h\n\n"), 400)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: h\n\r\n"), 400)
    }

    func testObsFoldIs400() {
        XCTAssertEqual(status(Self.head(["X-A: a", " continued"])), 400)
        XCTAssertEqual(status(Self.head(["X-A: a", "\tcontinued"])), 400)
    }

    func testBadVersionsAre400() {
        XCTAssertEqual(status(Self.head(version: "HTTP/1.0")), 400)
        XCTAssertEqual(status(Self.head(version: "HTTP/2.0")), 400)
        XCTAssertEqual(status(Self.head(version: "http/1.1")), 400)
        XCTAssertEqual(status(Self.head(version: "HTTP/1.10")), 400)
        XCTAssertNotNil(request(Self.head(version: "HTTP/1.2")))
    }

    func testMalformedRequestLinesAre400() {
        XCTAssertEqual(status("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400)
        XCTAssertEqual(status("GET / HTTP/1.1 x\r\nHost: h\r\n\r\n"), 400)
        XCTAssertEqual(status("GET /\r\nHost: h\r\n\r\n"), 400)
        XCTAssertEqual(status("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400)
        XCTAssertEqual(status("\r\n\r\n"), 400)
        XCTAssertEqual(status(Self.head(target: "/caf\u{e9}")), 400)
    }

    func testBadHeaderSyntaxIs400() {
        XCTAssertEqual(status(Self.head(["NoColonHere"])), 400)
        XCTAssertEqual(status(Self.head(["X-A : b"])), 400)
        XCTAssertEqual(status(Self.head(["X(A): b"])), 400)
        XCTAssertEqual(status(Self.head([": b"])), 400)
        XCTAssertEqual(status(Self.head(["X-A: a\u{1}b"])), 400)
        XCTAssertEqual(status(Self.head(["X-A: a\u{7f}b"])), 400)
    }

    func testNonUTF8HeaderValueIs400() {
        var bytes = Array(Self.head(["X-A: ab"]).utf8)
        let i = bytes.firstIndex(of: UInt8(ascii: "b"))!
        bytes[i] = 0xFF
        if case .reject(let r) = parse(bytes) { XCTAssertEqual(r.status, 400) } else { XCTFail() }
    }

    func testUnsupportedTargetFormsAre400() {
        XCTAssertEqual(status(Self.head(target: "*")), 400)
        XCTAssertEqual(status(Self.head(target: "example.com:443")), 400)
        XCTAssertEqual(status(Self.head(target: "ftp://h/x")), 400)
        XCTAssertEqual(status(Self.head(target: "ws:///x")), 400)
        XCTAssertEqual(status(Self.head(target: "/x#frag")), 400)
    }

    func testKeyProblemsAre400() {
        let noKey = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
        XCTAssertEqual(rejection(noKey), HTTPRejection(status: 400, reason: "missing Sec-WebSocket-Key", input: .badHandshake))
        for bad in ["short==", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZ!==",
                    "dGhlIHNhbXBsZSBub25jZXh4", "", "dGhlIHNhbXBsZSBub25jZXh4eHg="] {
            let text = noKey.replacingOccurrences(of: "\r\n\r\n", with: "\r\nSec-WebSocket-Key: \(bad)\r\n\r\n")
            XCTAssertEqual(rejection(text)?.status, 400, bad)
        }
        XCTAssertEqual(rejection(Self.head(["Sec-WebSocket-Key: \(Self.key)"]))?.reason, "duplicate Sec-WebSocket-Key header")
    }

    func testHostProblemsAre400() {
        XCTAssertEqual(rejection(Self.head(["host: other.example"])), HTTPRejection(status: 400, reason: "duplicate Host header", input: .duplicateHeader))
        let noHost = Self.head().replacingOccurrences(of: "Host: app.example\r\n", with: "")
        XCTAssertEqual(rejection(noHost), HTTPRejection(status: 400, reason: "missing Host header", input: .badHandshake))
    }

    func testBodyOnUpgradeIs400() {
        XCTAssertEqual(status(Self.head(["Content-Length: 5"])), 400)
        XCTAssertEqual(status(Self.head(["Content-Length: x"])), 400)
        XCTAssertEqual(status(Self.head(["Transfer-Encoding: chunked"])), 400)
        XCTAssertNotNil(request(Self.head(["Content-Length: 0"])))
    }

    // MARK: 426

    static let full426 = [
        HTTPHeader(name: "Upgrade", value: "websocket"),
        HTTPHeader(name: "Connection", value: "Upgrade"),
        HTTPHeader(name: "Sec-WebSocket-Version", value: "13"),
    ]

    func testPlainGetIs426() {
        let r = rejection("GET /index.html HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n")
        XCTAssertEqual(r?.status, 426)
        XCTAssertEqual(r?.extraHeaders, Self.full426)
    }

    func testUpgradeWithoutConnectionTokenOrWithWrongMethodIs426() {
        XCTAssertEqual(rejection(Self.head().replacingOccurrences(of: "Connection: Upgrade", with: "Connection: keep-alive"))?.extraHeaders, Self.full426)
        XCTAssertEqual(rejection(Self.head().replacingOccurrences(of: "Upgrade: websocket", with: "Upgrade: h2c"))?.status, 426)
        XCTAssertEqual(rejection(Self.head(method: "POST"))?.status, 426)
    }

    func testVersion8Is426() {
        let text = Self.head().replacingOccurrences(of: "Sec-WebSocket-Version: 13", with: "Sec-WebSocket-Version: 8")
        XCTAssertEqual(rejection(text), HTTPRejection(status: 426, reason: "unsupported WebSocket version", input: .notWebSocket,
                                                     extraHeaders: [HTTPHeader(name: "Sec-WebSocket-Version", value: "13")]))
        let missing = Self.head().replacingOccurrences(of: "Sec-WebSocket-Version: 13\r\n", with: "")
        XCTAssertEqual(rejection(missing)?.status, 426)
    }

    // MARK: targets

    func testAbsoluteFormContributesPathOnly() {
        XCTAssertEqual(request(Self.head(target: "ws://evil.example:9/x?y"))?.path, "/x?y")
        XCTAssertEqual(request(Self.head(target: "http://h/x"))?.path, "/x")
        XCTAssertEqual(request(Self.head(target: "WSS://h"))?.path, "/")
        XCTAssertEqual(request(Self.head(target: "https://u@h?q=1"))?.path, "/?q=1")
        XCTAssertEqual(request(Self.head(target: "ws://h/x"))?.target, "ws://h/x")
        XCTAssertEqual(request(Self.head(target: "//a/b"))?.path, "//a/b")
    }

    func testDotSegmentsAreRefused() {
        for target in ["/../admin", "/a/./b", "/a/..", "/%2e%2e/admin", "/%2E./x", "ws://h/a/../b", "/..?q=1"] {
            guard case .reject(let rejection) = parse(Self.head(target: target)) else {
                return XCTFail("\(target) was accepted")
            }
            XCTAssertEqual(rejection.status, 400, target)
        }
        for target in ["/a..b/c", "/.hidden", "/x?path=/../y", "/..."] {
            XCTAssertNotNil(request(Self.head(target: target)), target)
        }
    }

    func testResultIsRememberedAfterDecision() {
        var parser = UpgradeRequestParser()
        let bad = Array("GET / HTTP/1.0\r\n\r\n".utf8)
        let first = bad.withUnsafeBytes { parser.parse($0) }
        XCTAssertEqual((bad + [1, 2, 3]).withUnsafeBytes { parser.parse($0) }, first)
    }
}
