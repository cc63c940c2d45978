import XCTest
@testable import LifelineCore

/// `PeerLogLimiter` with an injected clock: one line per peer per window, the held-back count
/// reported on the next line, peers independent, memory bounded by evicting the oldest window.
final class PeerLogLimiterTests: XCTestCase {
    func testFirstLineLogsThenTheWindowSuppresses() {
        var limiter = PeerLogLimiter(capacity: 8, window: 60)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 100), .log(suppressed: 0))
        for i in 1...19 {
            XCTAssertEqual(limiter.admit("10.0.0.1", now: 100 + Double(i)), .suppress, "line \(i)")
        }
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 159.999), .suppress)
    }

    func testNextLineAfterTheWindowReportsTheSuppressedCount() {
        var limiter = PeerLogLimiter(capacity: 8, window: 60)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 0), .log(suppressed: 0))
        for _ in 0..<5 { XCTAssertEqual(limiter.admit("10.0.0.1", now: 30), .suppress) }
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 60), .log(suppressed: 5))
        // A new window starts at 60: the count starts again from zero.
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 61), .suppress)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 120), .log(suppressed: 1))
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 500), .log(suppressed: 0))
    }

    func testPeersHaveSeparateWindows() {
        var limiter = PeerLogLimiter(capacity: 8, window: 60)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 0), .log(suppressed: 0))
        XCTAssertEqual(limiter.admit("10.0.0.2", now: 1), .log(suppressed: 0))
        XCTAssertEqual(limiter.admit("::1", now: 2), .log(suppressed: 0))
        XCTAssertEqual(limiter.admit("10.0.0.2", now: 3), .suppress)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 3), .suppress)
        XCTAssertEqual(limiter.count, 3)
    }

    func testAFloodOfDistinctPeersStaysWithinCapacityEvictingTheOldestWindow() {
        var limiter = PeerLogLimiter(capacity: 4, window: 60)
        for i in 0..<4 { XCTAssertEqual(limiter.admit("10.0.0.\(i)", now: Double(i)), .log(suppressed: 0)) }
        // 10.0.0.0's window is renewed at 70, so 10.0.0.1 (window from 1) is now the oldest.
        XCTAssertEqual(limiter.admit("10.0.0.0", now: 70), .log(suppressed: 0))
        XCTAssertEqual(limiter.admit("10.0.0.9", now: 71), .log(suppressed: 0))
        XCTAssertEqual(limiter.count, 4)
        XCTAssertEqual(limiter.admit("10.0.0.1", now: 72), .log(suppressed: 0), "evicted, so it is new again")
        XCTAssertEqual(limiter.admit("10.0.0.0", now: 72), .suppress, "kept: its window is the newest")
        for i in 0..<10_000 { _ = limiter.admit("192.0.2.\(i)", now: 100 + Double(i) / 1000) }
        XCTAssertEqual(limiter.count, 4)
    }

    func testCapacityOneStillLimitsTheSamePeer() {
        var limiter = PeerLogLimiter(capacity: 1, window: 10)
        XCTAssertEqual(limiter.admit("a", now: 0), .log(suppressed: 0))
        XCTAssertEqual(limiter.admit("a", now: 1), .suppress)
        XCTAssertEqual(limiter.admit("b", now: 2), .log(suppressed: 0))
        XCTAssertEqual(limiter.admit("b", now: 3), .suppress)
        XCTAssertEqual(limiter.count, 1)
    }
}
