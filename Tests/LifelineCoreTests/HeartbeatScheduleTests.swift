import XCTest
@testable import LifelineCore

/// When pings go out and when misses are decided: exact times, no bursts, no drift.
final class HeartbeatScheduleTests: XCTestCase {
    private let downstream = heartbeatSettings(30, 10, slow: 2, dead: 3)

    func testFirstPingIsExactlyOneIntervalAfterInit() {
        var heartbeat = Heartbeat(settings: downstream, now: 100, seed: heartbeatSeed)
        XCTAssertEqual(heartbeat.nextPingAt, 130)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertEqual(heartbeat.nextDeadline, 130)
        XCTAssertEqual(heartbeat.advance(now: 100), .none)
        XCTAssertEqual(heartbeat.advance(now: 129.999_999), .none)
        XCTAssertEqual(heartbeat.pingsSent, 0)

        let events = heartbeat.advance(now: 130)
        XCTAssertEqual(events, HeartbeatEvents(pingToken: heartbeatSeed &+ 1))
        XCTAssertEqual(heartbeatPayload(events.pingToken!), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(heartbeat.pingsSent, 1)
        XCTAssertEqual(heartbeat.pongDeadline, 140)
        XCTAssertEqual(heartbeat.nextPingAt, 160)
        XCTAssertEqual(heartbeat.nextDeadline, 140)
    }

    func testTokensCountUpFromTheSeedAndWrap() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        var tokens: [UInt64] = []
        for sequence in 1...4 {
            let now = Double(sequence) * 30
            tokens.append(heartbeat.advance(now: now).pingToken!)
            XCTAssertEqual(heartbeat.pong(sequence: UInt64(sequence), now: now + 1), .answered(rtt: 1, recovered: false))
        }
        XCTAssertEqual(tokens, [UInt64.max, 0, 1, 2])
        XCTAssertEqual(heartbeatPayload(tokens[1]), [0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(heartbeatPayload(tokens[3]), [0, 0, 0, 0, 0, 0, 0, 2])
    }

    func testNextPingFollowsThePreviousPingNotItsPong() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        XCTAssertNotNil(heartbeat.advance(now: 30).pingToken)
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 38), .answered(rtt: 8, recovered: false))
        XCTAssertEqual(heartbeat.nextPingAt, 60)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertEqual(heartbeat.nextDeadline, 60)
        XCTAssertEqual(heartbeat.advance(now: 59.999_999), .none)
        XCTAssertEqual(heartbeat.advance(now: 60), HeartbeatEvents(pingToken: heartbeatToken(2)))
    }

    func testMissIsDecidedExactlyAtSentAtPlusTimeout() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        XCTAssertEqual(heartbeat.pongDeadline, 40)
        XCTAssertEqual(heartbeat.advance(now: 39.999_999), .none)
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)

        XCTAssertEqual(heartbeat.advance(now: 40), HeartbeatEvents(missed: 1))
        XCTAssertEqual(heartbeat.consecutiveMisses, 1)
        XCTAssertEqual(heartbeat.health, .ok)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertEqual(heartbeat.nextPingAt, 60)
        XCTAssertEqual(heartbeat.nextDeadline, 60)
        XCTAssertEqual(heartbeat.advance(now: 40), .none, "a miss is counted once")
    }

    func testRepeatedAdvanceAtTheSameTimeDoesNothingMore() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        XCTAssertNotNil(heartbeat.advance(now: 30).pingToken)
        let after = heartbeat
        XCTAssertEqual(heartbeat.advance(now: 30), .none)
        XCTAssertEqual(heartbeat, after)
    }

    func testOnTimeCallsDoNotDrift() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        let timeline = runHeartbeat(&heartbeat, until: 30_000, answers: { _ in true })
        XCTAssertEqual(timeline.pings.count, 1000)
        XCTAssertEqual(timeline.pings, (1...1000).map { Double($0) * 30 })
        XCTAssertEqual(timeline.misses, [])
    }

    func testLateAdvanceSendsExactlyOnePingAndNoBurst() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        // The loop stalled: the first call comes 10 intervals after the first ping was due.
        XCTAssertEqual(heartbeat.advance(now: 330), HeartbeatEvents(pingToken: heartbeatToken(1)))
        XCTAssertEqual(heartbeat.pingsSent, 1)
        XCTAssertEqual(heartbeat.pongDeadline, 340)
        XCTAssertEqual(heartbeat.nextPingAt, 360)
        XCTAssertEqual(heartbeat.advance(now: 330), .none)
        XCTAssertEqual(heartbeat.advance(now: 335), .none)

        // From then on, on-time calls: one full interval between pings.
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 331), .answered(rtt: 1, recovered: false))
        let timeline = runHeartbeat(&heartbeat, until: 450, answers: { _ in true })
        XCTAssertEqual(timeline.pings, [360, 390, 420, 450])
        XCTAssertEqual(heartbeat.pingsSent, 5)
    }

    func testLateAdvanceDecidesTheOverdueMissBeforeSendingOnePing() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        // Stalled past ping 1's deadline (40) and ping 2's due time (60).
        XCTAssertEqual(heartbeat.advance(now: 335), HeartbeatEvents(pingToken: heartbeatToken(2), missed: 1))
        XCTAssertEqual(heartbeat.consecutiveMisses, 1)
        XCTAssertEqual(heartbeat.pingsSent, 2)
        XCTAssertEqual(heartbeat.pongDeadline, 345)
        XCTAssertEqual(heartbeat.nextPingAt, 365)
    }

    func testSlightlyLateAdvanceRestartsTheScheduleFromTheActualPing() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        XCTAssertNotNil(heartbeat.advance(now: 30.5).pingToken)
        XCTAssertEqual(heartbeat.pongDeadline, 40.5)
        XCTAssertEqual(heartbeat.nextPingAt, 60.5, "an interval after the ping as sent")
    }

    func testIntervalEqualToTimeoutDecidesTheMissBeforeTheNextPing() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(10, 10, slow: 2, dead: 3), now: 0, seed: heartbeatSeed)
        XCTAssertEqual(heartbeat.advance(now: 10), HeartbeatEvents(pingToken: heartbeatToken(1)))
        XCTAssertEqual(heartbeat.pongDeadline, 20)
        XCTAssertEqual(heartbeat.nextPingAt, 20)
        XCTAssertEqual(heartbeat.nextDeadline, 20)

        // Both due at 20: ping 1 is missed first, then ping 2 goes out.
        XCTAssertEqual(heartbeat.advance(now: 20), HeartbeatEvents(pingToken: heartbeatToken(2), missed: 1))
        XCTAssertEqual(heartbeat.consecutiveMisses, 1)
        XCTAssertEqual(heartbeat.pongDeadline, 30)
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 20), .ignored(.stale), "ping 2 is the newest now")
        XCTAssertEqual(heartbeat.pong(sequence: 2, now: 20.5), .answered(rtt: 0.5, recovered: false))
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)
    }

    func testIntervalEqualToTimeoutWithAnAnsweringPeerNeverMisses() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(10, 10, slow: 1, dead: 1), now: 0, seed: heartbeatSeed)
        let timeline = runHeartbeat(&heartbeat, until: 100, rtt: 9.5, answers: { _ in true })
        XCTAssertEqual(timeline, HeartbeatTimeline(pings: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]))
        XCTAssertEqual(heartbeat.lastRTT, 9.5)
    }

    func testTimeoutLongerThanTheIntervalIsClampedToIt() {
        // Config validation rejects this; a hand-built value must still keep the order.
        var heartbeat = Heartbeat(settings: heartbeatSettings(10, 25, slow: 2, dead: 3), now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 10)
        XCTAssertEqual(heartbeat.pongDeadline, 20)
        XCTAssertEqual(heartbeat.advance(now: 20), HeartbeatEvents(pingToken: heartbeatToken(2), missed: 1))
    }

    func testPingsOffNeverPingNeverDie() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(0, 10, slow: 1, dead: 1), now: 0, seed: heartbeatSeed)
        XCTAssertNil(heartbeat.nextPingAt)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertNil(heartbeat.nextDeadline)
        for now in [0.0, 10, 30, 1e6, 1e12] {
            XCTAssertEqual(heartbeat.advance(now: now), .none)
            XCTAssertNil(heartbeat.nextDeadline)
        }
        XCTAssertEqual(heartbeat.pingsSent, 0)
        XCTAssertEqual(heartbeat.health, .ok)
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 5), .ignored(.unsolicited))
    }
}
