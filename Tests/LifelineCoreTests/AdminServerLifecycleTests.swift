import Foundation
import Glibc
import XCTest
@testable import LifelineCore

/// Admin connections over time: idle ones are closed, a second `respond` is ignored, and a
/// connection that vanishes before a deferred answer does not disturb the server.
final class AdminServerLifecycleTests: XCTestCase {
    func testIdleConnectionIsClosed() throws {
        let harness = try AdminServerHarness(idleTimeout: 0.2) { _, _, respond in respond(.text(200, "ok\n")) }
        defer { harness.stop() }
        let client = try harness.client()
        client.send("GET / HTTP/1.1\r\n\r\n")
        XCTAssertNotNil(client.readResponse())
        let started = Date()
        XCTAssertEqual(client.readToEnd(), "", "closed without sending anything")
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    }

    func testASecondRespondIsIgnored() throws {
        let harness = try AdminServerHarness { request, _, respond in
            respond(.text(200, "first\n"))
            respond(.text(500, "second\n"))
        }
        defer { harness.stop() }
        let client = try harness.client()
        client.send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        let expected = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 6\r\n\r\nfirst\n"
        XCTAssertEqual(client.readResponse(), expected)
        XCTAssertEqual(client.readResponse(), expected)
    }

    func testAClientGoneBeforeADeferredAnswerIsHarmless() throws {
        let harness = try AdminServerHarness { request, loop, respond in
            if request.path == "/slow" {
                loop.post { loop.post { respond(.text(200, "late\n")) } }
            } else {
                respond(.text(200, "ok\n"))
            }
        }
        defer { harness.stop() }
        do {
            let gone = try harness.client()
            gone.send("GET /slow HTTP/1.1\r\n\r\n")
        }
        usleep(50_000)
        let client = try harness.client()
        client.send("GET / HTTP/1.1\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.hasSuffix("\r\n\r\nok\n"), true)
    }

    func testManyClientsInTurn() throws {
        let harness = try AdminServerHarness { request, _, respond in respond(.text(200, request.path)) }
        defer { harness.stop() }
        for index in 0..<20 {
            let client = try harness.client()
            client.send("GET /\(index) HTTP/1.1\r\nConnection: close\r\n\r\n")
            XCTAssertEqual(client.readToEnd()?.hasSuffix("\r\n\r\n/\(index)"), true)
        }
    }
}
