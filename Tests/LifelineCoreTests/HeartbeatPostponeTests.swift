import XCTest
@testable import LifelineCore

/// `postpone(now:)`: while Lifeline does not read a peer (backpressure), nothing is decided about it.
final class HeartbeatPostponeTests: XCTestCase {
    // ping every 30 s, pong timeout 10 s, slow after 2 misses, dead after 3
    private let settings = heartbeatSettings(30, 10, slow: 2, dead: 3)

    func testPostponedPingIsNotMissedUntilOneTimeoutAfterTheLastPostpone() {
        var heartbeat = Heartbeat(settings: settings, now: 0, seed: heartbeatSeed)
        XCTAssertEqual(heartbeat.advance(now: 30), HeartbeatEvents(pingToken: heartbeatToken(1)))
        heartbeat.postpone(now: 35)
        XCTAssertEqual(heartbeat.pongDeadline, 45)
        XCTAssertEqual(heartbeat.advance(now: 40), .none, "the miss waits while reading is paused")
        heartbeat.postpone(now: 45)
        heartbeat.postpone(now: 55)
        XCTAssertEqual(heartbeat.pongDeadline, 65)
        XCTAssertEqual(heartbeat.nextPingAt, 65, "no new ping while the old one is held")
        XCTAssertEqual(heartbeat.advance(now: 64.999), .none)
        XCTAssertEqual(heartbeat.advance(now: 65), HeartbeatEvents(pingToken: heartbeatToken(2), missed: 1))
        XCTAssertEqual(heartbeat.pongDeadline, 75, "the next ping has a deadline of its own")
    }

    func testHeldPingCanStillBeAnsweredAfterThePause() {
        var heartbeat = Heartbeat(settings: settings, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        for now in stride(from: 40.0, through: 200, by: 10) {
            heartbeat.postpone(now: now)
            XCTAssertEqual(heartbeat.advance(now: now), .none)
        }
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 201), .answered(rtt: 171, recovered: false))
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)
        XCTAssertEqual(heartbeat.health, .ok)
        XCTAssertNil(heartbeat.pongDeadline)
    }

    func testPostponeWithoutOutstandingPingOnlyDelaysTheNextPing() {
        var heartbeat = Heartbeat(settings: settings, now: 0, seed: heartbeatSeed)
        heartbeat.postpone(now: 25)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertEqual(heartbeat.nextPingAt, 35)
        heartbeat.postpone(now: 5)
        XCTAssertEqual(heartbeat.nextPingAt, 35, "postpone never brings a deadline forward")
    }

    func testPostponeDoesNothingOnceDead() {
        var heartbeat = Heartbeat(settings: settings, now: 0, seed: heartbeatSeed)
        _ = runHeartbeat(&heartbeat, until: 100)
        XCTAssertEqual(heartbeat.health, .dead)
        heartbeat.postpone(now: 100)
        XCTAssertNil(heartbeat.nextDeadline)
    }
}
