import XCTest
@testable import LifelineCore

/// SIGHUP reloads: new interval, timeout and thresholds applied to a running heartbeat.
final class HeartbeatReconfigureTests: XCTestCase {
    private let downstream = heartbeatSettings(30, 10, slow: 2, dead: 3)

    func testUnchangedReloadChangesNothing() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        // (time to run to, time of the reload): before any ping, ping outstanding, after a miss, slow.
        for (runTo, reloadAt) in [(0.0, 12.0), (30, 35), (40, 45), (70, 80)] {
            _ = runHeartbeat(&heartbeat, until: runTo)
            let before = heartbeat
            heartbeat.reconfigure(downstream, now: reloadAt)
            XCTAssertEqual(heartbeat, before, "reload at \(reloadAt)")
        }
        XCTAssertEqual(heartbeat.health, .slow)
    }

    func testShorterIntervalCountsFromTheLastPing() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        _ = heartbeat.pong(sequence: 1, now: 31)
        heartbeat.reconfigure(heartbeatSettings(15, 10, slow: 2, dead: 3), now: 40)
        XCTAssertEqual(heartbeat.nextPingAt, 45)
        XCTAssertEqual(heartbeat.nextDeadline, 45)
        XCTAssertEqual(heartbeat.advance(now: 44.999), .none)
        XCTAssertEqual(heartbeat.advance(now: 45), HeartbeatEvents(pingToken: heartbeatToken(2)))
        XCTAssertEqual(heartbeat.pongDeadline, 55)
        XCTAssertEqual(heartbeat.nextPingAt, 60)
    }

    func testShorterIntervalAlreadyPastPingsAtOnce() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        _ = heartbeat.pong(sequence: 1, now: 31)
        heartbeat.reconfigure(heartbeatSettings(5, 5, slow: 2, dead: 3), now: 40)
        XCTAssertEqual(heartbeat.nextPingAt, 40)
        XCTAssertEqual(heartbeat.advance(now: 40), HeartbeatEvents(pingToken: heartbeatToken(2)))
        XCTAssertEqual(heartbeat.advance(now: 40), .none, "one ping, no burst")
        XCTAssertEqual(heartbeat.nextPingAt, 45)
    }

    func testShorterIntervalWithAnUnansweredPingMissesItFirst() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        heartbeat.reconfigure(heartbeatSettings(5, 5, slow: 2, dead: 3), now: 38)
        XCTAssertEqual(heartbeat.pongDeadline, 35)
        XCTAssertEqual(heartbeat.nextPingAt, 38)
        XCTAssertEqual(heartbeat.nextDeadline, 35)
        XCTAssertEqual(heartbeat.advance(now: 38), HeartbeatEvents(pingToken: heartbeatToken(2), missed: 1))
        XCTAssertEqual(heartbeat.pongDeadline, 43)
    }

    func testLongerIntervalAndTimeoutMoveBothDeadlines() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        heartbeat.reconfigure(heartbeatSettings(60, 20, slow: 2, dead: 3), now: 35)
        XCTAssertEqual(heartbeat.pongDeadline, 50)
        XCTAssertEqual(heartbeat.nextPingAt, 90)
        XCTAssertEqual(heartbeat.advance(now: 40), .none, "the old deadline no longer applies")
        XCTAssertEqual(heartbeat.advance(now: 50), HeartbeatEvents(missed: 1))
        XCTAssertEqual(heartbeat.advance(now: 60), .none, "the old schedule no longer applies")
        XCTAssertEqual(heartbeat.advance(now: 90), HeartbeatEvents(pingToken: heartbeatToken(2)))
    }

    func testShorterTimeoutAlreadyPastMissesAtOnce() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        heartbeat.reconfigure(heartbeatSettings(30, 5, slow: 2, dead: 3), now: 38)
        XCTAssertEqual(heartbeat.pongDeadline, 35)
        XCTAssertEqual(heartbeat.nextDeadline, 35)
        XCTAssertEqual(heartbeat.advance(now: 38), HeartbeatEvents(missed: 1))
        XCTAssertEqual(heartbeat.nextPingAt, 60)
    }

    func testIntervalChangeBeforeTheFirstPingCountsFromInit() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        heartbeat.reconfigure(heartbeatSettings(10, 10, slow: 2, dead: 3), now: 5)
        XCTAssertEqual(heartbeat.nextPingAt, 10)
        heartbeat.reconfigure(heartbeatSettings(60, 10, slow: 2, dead: 3), now: 8)
        XCTAssertEqual(heartbeat.nextPingAt, 60)
        heartbeat.reconfigure(heartbeatSettings(10, 10, slow: 2, dead: 3), now: 20)
        XCTAssertEqual(heartbeat.nextPingAt, 20, "already past: at once")
        XCTAssertEqual(heartbeat.advance(now: 20), HeartbeatEvents(pingToken: heartbeatToken(1)))
        XCTAssertEqual(heartbeat.nextPingAt, 30)
    }

    func testTurningPingsOffClearsDeadlinesButKeepsTheOutstandingPingAnswerable() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        heartbeat.reconfigure(heartbeatSettings(0, 10, slow: 2, dead: 3), now: 35)
        XCTAssertNil(heartbeat.nextPingAt)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertNil(heartbeat.nextDeadline)
        for now in [40.0, 60, 1e6] {
            XCTAssertEqual(heartbeat.advance(now: now), .none)
        }
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 50), .answered(rtt: 20, recovered: false))
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 51), .ignored(.duplicate))
    }

    func testTurningPingsOffFreezesASlowHeartbeat() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = runHeartbeat(&heartbeat, until: 90)
        XCTAssertEqual(heartbeat.health, .slow)
        heartbeat.reconfigure(heartbeatSettings(0, 10, slow: 2, dead: 3), now: 95)
        XCTAssertNil(heartbeat.nextDeadline)
        XCTAssertEqual(heartbeat.advance(now: 1e6), .none)
        XCTAssertEqual(heartbeat.health, .slow)
        XCTAssertEqual(heartbeat.consecutiveMisses, 2)
        XCTAssertEqual(heartbeat.pong(sequence: 3, now: 200), .answered(rtt: 110, recovered: true))
    }

    func testTurningPingsOnStartsTheScheduleAtTheReload() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(0, 10, slow: 2, dead: 3), now: 0, seed: heartbeatSeed)
        heartbeat.reconfigure(downstream, now: 100)
        XCTAssertEqual(heartbeat.nextPingAt, 130)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertEqual(heartbeat.advance(now: 129), .none)
        XCTAssertEqual(heartbeat.advance(now: 130), HeartbeatEvents(pingToken: heartbeatToken(1)))
        XCTAssertEqual(heartbeat.pongDeadline, 140)
    }

    func testOffThenOnAbandonsTheOldPingsDeadline() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        heartbeat.reconfigure(heartbeatSettings(0, 10, slow: 2, dead: 3), now: 35)
        heartbeat.reconfigure(downstream, now: 1000)
        XCTAssertNil(heartbeat.pongDeadline, "ping 1 is never missed")
        XCTAssertEqual(heartbeat.nextPingAt, 1030)
        XCTAssertEqual(heartbeat.advance(now: 1000), .none)
        XCTAssertEqual(heartbeat.advance(now: 1030), HeartbeatEvents(pingToken: heartbeatToken(2)))
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)
    }

    func testLowerSlowThresholdIsReportedOnceByTheNextAdvance() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(30, 10, slow: 3, dead: 5), now: 0, seed: heartbeatSeed)
        _ = runHeartbeat(&heartbeat, until: 75)
        XCTAssertEqual(heartbeat.consecutiveMisses, 2)
        XCTAssertEqual(heartbeat.health, .ok)

        heartbeat.reconfigure(downstream, now: 75)
        XCTAssertEqual(heartbeat.health, .slow)
        XCTAssertEqual(heartbeat.nextDeadline, 75, "the transition is due at once")
        XCTAssertEqual(heartbeat.advance(now: 75), HeartbeatEvents(becameSlow: true))
        XCTAssertEqual(heartbeat.nextDeadline, 90)

        heartbeat.reconfigure(downstream, now: 76)
        XCTAssertEqual(heartbeat.nextDeadline, 90, "no duplicate transition")
        XCTAssertEqual(heartbeat.advance(now: 76), .none)
    }

    func testPendingTransitionIsReportedAlongsideADuePing() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(30, 10, slow: 3, dead: 5), now: 0, seed: heartbeatSeed)
        _ = runHeartbeat(&heartbeat, until: 75)
        heartbeat.reconfigure(downstream, now: 75)
        XCTAssertEqual(heartbeat.advance(now: 90), HeartbeatEvents(pingToken: heartbeatToken(3), becameSlow: true))
    }

    func testLowerDeadThresholdKillsAtTheNextAdvance() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(30, 10, slow: 3, dead: 5), now: 0, seed: heartbeatSeed)
        _ = runHeartbeat(&heartbeat, until: 75)
        heartbeat.reconfigure(heartbeatSettings(30, 10, slow: 2, dead: 2), now: 75)
        XCTAssertEqual(heartbeat.health, .dead)
        XCTAssertNil(heartbeat.nextPingAt)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertEqual(heartbeat.nextDeadline, 75)
        XCTAssertEqual(heartbeat.advance(now: 90), HeartbeatEvents(becameSlow: true, becameDead: true), "no ping once dead")
        XCTAssertNil(heartbeat.nextDeadline)
        XCTAssertEqual(heartbeat.advance(now: 120), .none)
        XCTAssertEqual(heartbeat.pingsSent, 2)
        XCTAssertEqual(heartbeat.pong(sequence: 2, now: 121), .ignored(.dead))
    }

    func testLowerDeadThresholdOnASlowHeartbeatReportsOnlyDead() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(30, 10, slow: 2, dead: 5), now: 0, seed: heartbeatSeed)
        XCTAssertEqual(runHeartbeat(&heartbeat, until: 75).slow, [70])
        heartbeat.reconfigure(heartbeatSettings(30, 10, slow: 2, dead: 2), now: 75)
        XCTAssertEqual(heartbeat.advance(now: 75), HeartbeatEvents(becameDead: true))
    }

    func testHigherThresholdsDoNotHealASlowHeartbeat() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = runHeartbeat(&heartbeat, until: 75)
        XCTAssertEqual(heartbeat.health, .slow)
        heartbeat.reconfigure(heartbeatSettings(30, 10, slow: 5, dead: 6), now: 75)
        XCTAssertEqual(heartbeat.health, .slow)
        XCTAssertEqual(heartbeat.nextDeadline, 90)
        let timeline = runHeartbeat(&heartbeat, until: 155)
        XCTAssertEqual(timeline, HeartbeatTimeline(pings: [90, 120, 150], misses: [100, 130]), "not dead at 3 misses now")
        XCTAssertEqual(heartbeat.pong(sequence: 5, now: 151), .answered(rtt: 1, recovered: true))
    }

    func testPongBeforeAPendingSlowIsReportedCancelsIt() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(30, 10, slow: 3, dead: 5), now: 0, seed: heartbeatSeed)
        _ = runHeartbeat(&heartbeat, until: 75)
        heartbeat.reconfigure(downstream, now: 75)
        XCTAssertEqual(heartbeat.pong(sequence: 2, now: 76), .answered(rtt: 16, recovered: false),
                       "the runtime never heard it was slow")
        XCTAssertEqual(heartbeat.health, .ok)
        XCTAssertEqual(heartbeat.nextDeadline, 90)
        XCTAssertEqual(heartbeat.advance(now: 76), .none)
    }

    func testReloadOnADeadHeartbeatOnlyStoresTheSettings() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = runHeartbeat(&heartbeat, until: 100)
        XCTAssertEqual(heartbeat.health, .dead)
        let relaxed = heartbeatSettings(10, 5, slow: 50, dead: 100)
        heartbeat.reconfigure(relaxed, now: 110)
        XCTAssertEqual(heartbeat.settings, relaxed)
        XCTAssertEqual(heartbeat.health, .dead)
        XCTAssertNil(heartbeat.nextDeadline)
        XCTAssertEqual(heartbeat.advance(now: 1000), .none)
    }
}
