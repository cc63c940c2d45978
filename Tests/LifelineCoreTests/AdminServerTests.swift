import Foundation
import Glibc
import XCTest
@testable import LifelineCore

/// The admin HTTP server end to end over real sockets: exact responses for handled, refused
/// and malformed requests, HEAD, keep-alive, split and pipelined requests, deferred answers,
/// and the idle timeout.
final class AdminServerTests: XCTestCase {
    private var harness: AdminServerHarness!

    /// `/metrics` → 200 "ok\n", `/later` → answered on a later loop iteration, else 404.
    override func setUpWithError() throws {
        harness = try AdminServerHarness { request, loop, respond in
            switch request.path {
            case "/metrics": respond(.text(200, "ok\n"))
            case "/later": loop.post { respond(.json(200, "[]")) }
            default: respond(.text(404, "not found\n"))
            }
        }
    }

    override func tearDown() {
        harness.stop()
        harness = nil
    }

    private let ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nok\n"

    func testHandledGet() throws {
        let client = try harness.client()
        client.send("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        XCTAssertEqual(client.readResponse(), ok)
        XCTAssertEqual(harness.requests.all, [AdminRequest(method: "GET", path: "/metrics", query: nil)])
    }

    func testQueryIsSeparatedFromPath() throws {
        let client = try harness.client()
        client.send("GET /nope?limit=5&x HTTP/1.1\r\n\r\n")
        XCTAssertNotNil(client.readResponse())
        XCTAssertEqual(harness.requests.all, [AdminRequest(method: "GET", path: "/nope", query: "limit=5&x")])
    }

    func testNotFoundFromTheHandler() throws {
        let client = try harness.client()
        client.send("GET /missing HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse(),
                       "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\nnot found\n")
    }

    func testHeadSendsNoBody() throws {
        let client = try harness.client()
        client.send("HEAD /metrics HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse(bodyExpected: false),
                       "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n")
        client.send("GET /metrics HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse(), ok, "no body bytes were left before the next response")
        XCTAssertEqual(harness.requests.all.map(\.method), ["HEAD", "GET"])
    }

    func testPostIsRefusedWith405() throws {
        let client = try harness.client()
        client.send("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(client.readResponse(), "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       + "Content-Length: 19\r\nAllow: GET, HEAD\r\n\r\nmethod not allowed\n")
        XCTAssertEqual(harness.requests.all, [], "the handler never sees a refused method")
        client.send("GET /metrics HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse(), ok, "a body-less refusal keeps the connection")
    }

    func testPostWithABodyClosesAfterTheRefusal() throws {
        let client = try harness.client()
        client.send("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
        XCTAssertEqual(client.readToEnd(), "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       + "Content-Length: 19\r\nAllow: GET, HEAD\r\nConnection: close\r\n\r\nmethod not allowed\n")
    }

    func testGarbageIs400AndCloses() throws {
        let client = try harness.client()
        client.send("garbage\r\n\r\n")
        XCTAssertEqual(client.readToEnd(), "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       + "Content-Length: 23\r\nConnection: close\r\n\r\nmalformed request line\n")
    }

    func testBareLineFeedsAre400() throws {
        let client = try harness.client()
        client.send("GET /metrics HTTP/1.1\n\n")
        XCTAssertEqual(client.readToEnd(), "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       + "Content-Length: 23\r\nConnection: close\r\n\r\nmalformed request head\n")
    }

    func testOversizedHeadIs431() throws {
        let client = try harness.client()
        client.send("GET /metrics HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: 9000) + "\r\n\r\n")
        XCTAssertEqual(client.readToEnd(), "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       + "Content-Length: 23\r\nConnection: close\r\n\r\nrequest head too large\n")
        XCTAssertEqual(harness.requests.all, [])
    }

    func testTwoKeepAliveRequestsOnOneConnection() throws {
        let client = try harness.client()
        client.send("GET /metrics HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse(), ok)
        client.send("GET /metrics HTTP/1.1\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(client.readResponse(), ok)
        XCTAssertEqual(harness.requests.all.count, 2)
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let client = try harness.client()
        client.send("GET /later HTTP/1.1\r\n\r\nGET /missing HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse(), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]")
        XCTAssertEqual(client.readResponse()?.hasPrefix("HTTP/1.1 404 Not Found\r\n"), true)
        XCTAssertEqual(client.readResponse(), ok)
        XCTAssertEqual(harness.requests.all.map(\.path), ["/later", "/missing", "/metrics"])
    }

    func testRequestSplitAcrossTwoWrites() throws {
        let client = try harness.client()
        client.send("GET /met")
        usleep(50_000)
        client.send("rics HTTP/1.1\r\nHost: local")
        usleep(50_000)
        client.send("host\r\n\r\n")
        XCTAssertEqual(client.readResponse(), ok)
    }

    func testDeferredRespond() throws {
        let client = try harness.client()
        client.send("GET /later HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse(), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]")
        client.send("GET /metrics HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse(), ok)
    }

    func testConnectionCloseIsHonoured() throws {
        let client = try harness.client()
        client.send("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(client.readToEnd(),
                       "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
    }

    func testHTTP10ClosesAfterTheResponse() throws {
        let client = try harness.client()
        client.send("GET /metrics HTTP/1.0\r\n\r\n")
        XCTAssertEqual(client.readToEnd()?.hasSuffix("Connection: close\r\n\r\nok\n"), true)
    }

    func testStopReleasesThePort() throws {
        let port = harness.port
        harness.stop()
        XCTAssertThrowsError(try AdminTestClient(port: port))
    }
}
