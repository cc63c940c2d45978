import XCTest
@testable import LifelineCore

/// ok → slow → dead on consecutive misses, each transition reported once.
final class HeartbeatHealthTests: XCTestCase {
    private let downstream = heartbeatSettings(30, 10, slow: 2, dead: 3)

    func testSlowAfterExactlySlowAfterConsecutiveMissesReportedOnce() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        XCTAssertEqual(heartbeat.advance(now: 40), HeartbeatEvents(missed: 1))
        XCTAssertEqual(heartbeat.health, .ok)
        _ = heartbeat.advance(now: 60)
        XCTAssertEqual(heartbeat.advance(now: 70), HeartbeatEvents(missed: 1, becameSlow: true))
        XCTAssertEqual(heartbeat.health, .slow)
        XCTAssertEqual(heartbeat.consecutiveMisses, 2)
        XCTAssertEqual(heartbeat.advance(now: 70), .none)
        XCTAssertEqual(heartbeat.advance(now: 89.999), .none)
    }

    func testSlowStaysSlowOnFurtherMissesWithoutReportingAgain() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(30, 10, slow: 1, dead: 4), now: 0, seed: heartbeatSeed)
        let timeline = runHeartbeat(&heartbeat, until: 120)
        XCTAssertEqual(timeline, HeartbeatTimeline(pings: [30, 60, 90, 120], misses: [40, 70, 100], slow: [40]))
        XCTAssertEqual(heartbeat.consecutiveMisses, 3)
        XCTAssertEqual(heartbeat.health, .slow)
    }

    func testAnsweredPongRecoversOnceThenReportsNoMoreRecoveries() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        XCTAssertEqual(runHeartbeat(&heartbeat, until: 90).slow, [70])
        XCTAssertEqual(heartbeat.pong(sequence: 3, now: 90.5), .answered(rtt: 0.5, recovered: true))
        XCTAssertEqual(heartbeat.health, .ok)
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)
        XCTAssertEqual(heartbeat.advance(now: 120), HeartbeatEvents(pingToken: heartbeatToken(4)))
        XCTAssertEqual(heartbeat.pong(sequence: 4, now: 121), .answered(rtt: 1, recovered: false))
    }

    func testSlowIsReportedAgainAfterARecovery() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        // Pings 1, 2 missed (slow at 70); 3 answered (recovered); 4, 5 missed (slow again at 160).
        let timeline = runHeartbeat(&heartbeat, until: 180, answers: { $0 == 3 })
        XCTAssertEqual(timeline, HeartbeatTimeline(pings: [30, 60, 90, 120, 150, 180],
                                                   misses: [40, 70, 130, 160], slow: [70, 160]))
        XCTAssertEqual(heartbeat.health, .slow)
    }

    func testMissesMustBeConsecutive() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        // Every other ping answered: one miss at a time, never slow.
        let timeline = runHeartbeat(&heartbeat, until: 600, answers: { $0 % 2 == 0 })
        XCTAssertEqual(timeline.misses.count, 10)
        XCTAssertEqual(timeline.slow, [])
        XCTAssertEqual(timeline.dead, [])
        XCTAssertEqual(heartbeat.health, .ok)
    }

    func testDeadAfterExactlyMaxMissesThenNothingMore() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = runHeartbeat(&heartbeat, until: 90)
        XCTAssertEqual(heartbeat.consecutiveMisses, 2)
        XCTAssertEqual(heartbeat.pongDeadline, 100)
        XCTAssertEqual(heartbeat.advance(now: 99.999), .none)
        XCTAssertEqual(heartbeat.advance(now: 100), HeartbeatEvents(missed: 1, becameDead: true))
        XCTAssertEqual(heartbeat.health, .dead)
        XCTAssertEqual(heartbeat.consecutiveMisses, 3)
        XCTAssertEqual(heartbeat.pingsSent, 3)
        XCTAssertNil(heartbeat.nextPingAt)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertNil(heartbeat.nextDeadline)
        for now in [100.0, 120, 130, 1e9] {
            XCTAssertEqual(heartbeat.advance(now: now), .none)
        }
        XCTAssertEqual(heartbeat.pingsSent, 3)
    }

    func testDeadMissDueWithTheNextPingSendsNoPing() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(10, 10, slow: 1, dead: 2), now: 0, seed: heartbeatSeed)
        XCTAssertEqual(heartbeat.advance(now: 10).pingToken, heartbeatToken(1))
        XCTAssertEqual(heartbeat.advance(now: 20), HeartbeatEvents(pingToken: heartbeatToken(2), missed: 1, becameSlow: true))
        XCTAssertEqual(heartbeat.advance(now: 30), HeartbeatEvents(missed: 1, becameDead: true))
        XCTAssertEqual(heartbeat.pingsSent, 2)
        XCTAssertNil(heartbeat.nextDeadline)
    }

    func testOneMissCrossingBothThresholdsReportsBoth() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(30, 10, slow: 2, dead: 2), now: 0, seed: heartbeatSeed)
        let timeline = runHeartbeat(&heartbeat, until: 1000)
        XCTAssertEqual(timeline, HeartbeatTimeline(pings: [30, 60], misses: [40, 70], slow: [70], dead: [70]))
        XCTAssertEqual(heartbeat.health, .dead)
    }

    func testHealthRawValuesAreTheConnectionsEndpointWords() {
        XCTAssertEqual(Heartbeat.Health.ok.rawValue, "ok")
        XCTAssertEqual(Heartbeat.Health.slow.rawValue, "slow")
        XCTAssertEqual(Heartbeat.Health.dead.rawValue, "dead")
    }
}
