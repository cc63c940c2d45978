import XCTest
@testable import LifelineCore

final class HTTPResponseParserTests: XCTestCase {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    static func switching(_ extra: [String] = []) -> String {
        (["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
          "Sec-WebSocket-Accept: \(accept)"] + extra).joined(separator: "\r\n") + "\r\n\r\n"
    }

    func makeParser(maxHeadBytes: Int = 16384, maxBodyBytes: Int = 65536) -> UpgradeResponseParser {
        UpgradeResponseParser(expectedAccept: Self.accept, offeredProtocols: ["chat", "superchat"],
                              maxHeadBytes: maxHeadBytes, maxBodyBytes: maxBodyBytes)
    }

    func parse(_ text: String, eof: Bool = false, maxHeadBytes: Int = 16384, maxBodyBytes: Int = 65536) -> ResponseParseResult {
        parse(Array(text.utf8), eof: eof, maxHeadBytes: maxHeadBytes, maxBodyBytes: maxBodyBytes)
    }

    func parse(_ bytes: [UInt8], eof: Bool = false, maxHeadBytes: Int = 16384, maxBodyBytes: Int = 65536) -> ResponseParseResult {
        var parser = makeParser(maxHeadBytes: maxHeadBytes, maxBodyBytes: maxBodyBytes)
        return bytes.withUnsafeBytes { parser.parse($0, eof: eof) }
    }

    func isInvalid(_ result: ResponseParseResult) -> Bool {
        if case .invalid = result { return true }
        return false
    }

    /// Feeds every prefix split into a fresh parser, then the whole buffer (with `eof`), and
    /// checks the outcome never changes; returns it.
    func assertSplitInvariant(_ bytes: [UInt8], eof: Bool, file: StaticString = #filePath, line: UInt = #line) -> ResponseParseResult {
        let expected = parse(bytes, eof: eof)
        for split in 0..<bytes.count {
            var parser = makeParser()
            let partial = Array(bytes[..<split]).withUnsafeBytes { parser.parse($0, eof: false) }
            if case .needMore = partial {} else if partial != expected {
                XCTFail("split \(split): \(partial)", file: file, line: line)
            }
            XCTAssertEqual(bytes.withUnsafeBytes { parser.parse($0, eof: eof) }, expected, "split \(split)", file: file, line: line)
        }
        var grower = makeParser()
        for n in 0..<bytes.count {
            if case .needMore = Array(bytes[..<n]).withUnsafeBytes({ grower.parse($0, eof: false) }) { continue }
            break
        }
        XCTAssertEqual(bytes.withUnsafeBytes { grower.parse($0, eof: eof) }, expected, "byte at a time", file: file, line: line)
        return expected
    }

    // MARK: 101

    func testValidSwitchingWithSubprotocolAndFramesAfterHead() {
        let head = Self.switching(["Sec-WebSocket-Protocol: superchat"])
        let frame: [UInt8] = [0x81, 0x02, 0x68, 0x69]
        let result = assertSplitInvariant(Array(head.utf8) + frame, eof: false)
        guard case .switching(let response, let headLength) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(headLength, head.utf8.count)
        XCTAssertEqual(response.status, 101)
        XCTAssertEqual(response.reason, "Switching Protocols")
        XCTAssertEqual(response.subprotocol, "superchat")
        XCTAssertEqual(response.header("sec-websocket-accept"), Self.accept)
    }

    func testSwitchingWithoutSubprotocol() {
        guard case .switching(let response, _) = parse(Self.switching()) else { return XCTFail() }
        XCTAssertNil(response.subprotocol)
    }

    func testBad101sAreInvalid() {
        XCTAssertEqual(parse(Self.switching().replacingOccurrences(of: Self.accept, with: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
                       .invalid(.invalid101, reason: "wrong Sec-WebSocket-Accept"))
        XCTAssertEqual(parse(Self.switching(["Sec-WebSocket-Extensions: permessage-deflate"])),
                       .invalid(.invalid101, reason: "upstream negotiated an extension we did not offer"))
        XCTAssertEqual(parse(Self.switching(["Sec-WebSocket-Protocol: mqtt"])),
                       .invalid(.invalid101, reason: "upstream chose a subprotocol we did not offer"))
        XCTAssertTrue(isInvalid(parse(Self.switching(["Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"]))))
        XCTAssertTrue(isInvalid(parse(Self.switching(["Sec-WebSocket-Accept: \(Self.accept)"]))))
        XCTAssertTrue(isInvalid(parse(Self.switching().replacingOccurrences(of: "Upgrade: websocket\r\n", with: ""))))
        XCTAssertTrue(isInvalid(parse(Self.switching().replacingOccurrences(of: "Connection: Upgrade", with: "Connection: close"))))
        XCTAssertTrue(isInvalid(parse(Self.switching().replacingOccurrences(of: "HTTP/1.1", with: "HTTP/1.0"))))
    }

    func testUnofferedSubprotocolWhenNoneOffered() {
        var parser = UpgradeResponseParser(expectedAccept: Self.accept, offeredProtocols: [])
        let bytes = Array(Self.switching(["Sec-WebSocket-Protocol: chat"]).utf8)
        XCTAssertTrue(isInvalid(bytes.withUnsafeBytes { parser.parse($0, eof: false) }))
    }

    func testContinueThen101() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + Self.switching()
        guard case .switching(let response, let headLength) = assertSplitInvariant(Array(text.utf8), eof: false) else { return XCTFail() }
        XCTAssertEqual(response.status, 101)
        XCTAssertEqual(headLength, text.utf8.count)
    }

    // MARK: refusals

    func testUnauthorizedWithContentLengthBody() {
        let text = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 12\r\n\r\nno token :(\n"
        let result = assertSplitInvariant(Array(text.utf8) + [9, 9], eof: false)
        guard case .refused(let response, let body) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(response.reason, "Unauthorized")
        XCTAssertEqual(response.header("www-authenticate"), "Bearer")
        XCTAssertEqual(body, Array("no token :(\n".utf8))
        XCTAssertEqual(parse(String(text.dropLast(3))), .needMore)
        XCTAssertTrue(isInvalid(parse(String(text.dropLast(3)), eof: true)))
    }

    func testNotFoundChunkedBody() {
        let text = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "4;ext=1\r\nnot \r\nA\r\nfound here\r\n0\r\nX-Trailer: t\r\n\r\n"
        let result = assertSplitInvariant(Array(text.utf8), eof: false)
        guard case .refused(let response, let body) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(response.status, 404)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "not found here")
    }

    func testServerErrorCloseDelimitedBody() {
        let text = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nboom"
        let bytes = Array(text.utf8)
        for n in 0...bytes.count {
            var parser = makeParser()
            let partial = Array(bytes[..<n]).withUnsafeBytes { parser.parse($0, eof: false) }
            XCTAssertEqual(partial, .needMore)
        }
        let result = assertSplitInvariant(bytes, eof: true)
        guard case .refused(let response, let body) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(response.status, 500)
        XCTAssertEqual(body, Array("boom".utf8))
    }

    func testNoContentHasEmptyBody() {
        guard case .refused(let response, let body) = parse("HTTP/1.1 204 No Content\r\n\r\n") else { return XCTFail() }
        XCTAssertEqual(response.status, 204)
        XCTAssertEqual(body, [])
    }

    func testStatusLineWithoutReason() {
        guard case .refused(let response, _) = parse("HTTP/1.0 403\r\nContent-Length: 0\r\n\r\n") else { return XCTFail() }
        XCTAssertEqual(response.status, 403)
        XCTAssertEqual(response.reason, "")
        XCTAssertEqual(response.minorVersion, 0)
    }

    // MARK: invalid

    func testMalformedResponsesAreInvalid() {
        XCTAssertEqual(parse("", eof: true), .invalid(.truncatedResponse, reason: "upstream closed before a complete response head"))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 101 Switching", eof: true)))
        XCTAssertTrue(isInvalid(parse("HTTP/2 200 OK\r\n\r\n")))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 20 OK\r\n\r\n")))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 200OK\r\n\r\n")))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 200 OK\nX: y\n\n")))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 200 OK\r\nX: y\rz\r\n\r\n")))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 200 OK\r\nX : y\r\n\r\n")))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n")))
        XCTAssertTrue(isInvalid(parse("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", eof: true)))
    }

    func testSizeLimits() {
        XCTAssertEqual(parse("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 100), maxHeadBytes: 64),
                       .invalid(.headTooLarge, reason: "response head too large"))
        XCTAssertEqual(parse("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", maxBodyBytes: 10),
                       .invalid(.badBody, reason: "response body too large"))
        XCTAssertEqual(parse("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "a", count: 11), maxBodyBytes: 10),
                       .invalid(.badBody, reason: "response body too large"))
        XCTAssertEqual(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\naaaaaa\r\n5\r\n", maxBodyBytes: 10),
                       .invalid(.badBody, reason: "response body too large"))
        if case .refused(_, let body) = parse("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "a", count: 10), eof: true, maxBodyBytes: 10) {
            XCTAssertEqual(body.count, 10)
        } else { XCTFail() }
    }
}
