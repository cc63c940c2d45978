import XCTest
@testable import LifelineCore

/// Which pong answers which ping, and that every ignored pong changes nothing.
final class HeartbeatPongTests: XCTestCase {
    private let downstream = heartbeatSettings(30, 10, slow: 2, dead: 3)

    /// A heartbeat made at 0 that sent ping 1 at 30.
    private func afterFirstPing() -> Heartbeat {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        XCTAssertEqual(heartbeat.advance(now: 30).pingToken, heartbeatToken(1))
        return heartbeat
    }

    /// Feeds `payload` and checks it is ignored for `reason` with no state change.
    private func assertIgnored(_ heartbeat: inout Heartbeat, _ payload: [UInt8], now: Double,
                               _ reason: IgnoredPong, file: StaticString = #filePath, line: UInt = #line) {
        let before = heartbeat
        XCTAssertEqual(heartbeat.pong(bytes: payload, now: now), .ignored(reason), file: file, line: line)
        XCTAssertEqual(heartbeat, before, "an ignored pong changes nothing", file: file, line: line)
    }

    func testPongInTimeAnswersWithTheExactRTT() {
        var heartbeat = afterFirstPing()
        XCTAssertNil(heartbeat.lastRTT)
        XCTAssertNil(heartbeat.lastPongAt)
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 30.25), .answered(rtt: 0.25, recovered: false))
        XCTAssertEqual(heartbeat.lastRTT, 0.25)
        XCTAssertEqual(heartbeat.lastPongAt, 30.25)
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)
        XCTAssertEqual(heartbeat.health, .ok)
        XCTAssertNil(heartbeat.pongDeadline)
        XCTAssertEqual(heartbeat.nextDeadline, 60)
        XCTAssertEqual(heartbeat.advance(now: 40), .none, "an answered ping is never missed")
    }

    func testPongExactlyAtTheDeadlineBeforeAdvanceAnswers() {
        var heartbeat = afterFirstPing()
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 40), .answered(rtt: 10, recovered: false))
        XCTAssertEqual(heartbeat.advance(now: 40), .none)
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)
    }

    func testLatePongAfterTheMissStillAnswersAndResets() {
        var heartbeat = afterFirstPing()
        XCTAssertEqual(heartbeat.advance(now: 40).missed, 1)
        XCTAssertEqual(heartbeat.consecutiveMisses, 1)
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 45), .answered(rtt: 15, recovered: false))
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)
        XCTAssertEqual(heartbeat.lastRTT, 15)
        XCTAssertEqual(heartbeat.lastPongAt, 45)
        XCTAssertEqual(heartbeat.nextDeadline, 60)
    }

    func testLatePongRecoversASlowConnection() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        _ = heartbeat.advance(now: 40)
        _ = heartbeat.advance(now: 60)
        XCTAssertEqual(heartbeat.advance(now: 70), HeartbeatEvents(missed: 1, becameSlow: true))
        XCTAssertEqual(heartbeat.pong(sequence: 2, now: 75), .answered(rtt: 15, recovered: true))
        XCTAssertEqual(heartbeat.health, .ok)
        XCTAssertEqual(heartbeat.consecutiveMisses, 0)
    }

    func testStalePongIsIgnored() {
        var heartbeat = afterFirstPing()
        _ = heartbeat.advance(now: 40)
        XCTAssertEqual(heartbeat.advance(now: 60).pingToken, heartbeatToken(2))
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(1)), now: 61, .stale)
        XCTAssertEqual(heartbeat.consecutiveMisses, 1)
        XCTAssertEqual(heartbeat.pongDeadline, 70)
        // Still stale after ping 2 was answered.
        XCTAssertEqual(heartbeat.pong(sequence: 2, now: 62), .answered(rtt: 2, recovered: false))
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(1)), now: 63, .stale)
    }

    func testPongBeforeAnyPingIsUnsolicited() {
        var heartbeat = Heartbeat(settings: downstream, now: 0, seed: heartbeatSeed)
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(1)), now: 5, .unsolicited)
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(0)), now: 5, .unsolicited)
        assertIgnored(&heartbeat, [], now: 5, .unsolicited)
        XCTAssertNil(heartbeat.lastPongAt)
    }

    func testPongWithAForeignPayloadIsUnsolicited() {
        var heartbeat = afterFirstPing()
        assertIgnored(&heartbeat, Array("keepalive".utf8.prefix(8)), now: 31, .unsolicited)
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(0)), now: 31, .unsolicited)
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(2)), now: 31, .unsolicited) // a ping not sent yet
        assertIgnored(&heartbeat, heartbeatPayload(0x1234_5678_9ABC_DEF0), now: 31, .unsolicited)
        XCTAssertEqual(heartbeat.pongDeadline, 40)
    }

    func testPongOfTheWrongLengthIsUnsolicited() {
        var heartbeat = afterFirstPing()
        let payload = heartbeatPayload(heartbeatToken(1))
        assertIgnored(&heartbeat, [], now: 31, .unsolicited)
        assertIgnored(&heartbeat, Array(payload.prefix(7)), now: 31, .unsolicited)
        assertIgnored(&heartbeat, payload + [0], now: 31, .unsolicited)
        assertIgnored(&heartbeat, [UInt8](repeating: 0xFF, count: 125), now: 31, .unsolicited)
        XCTAssertEqual(heartbeat.pong(bytes: payload, now: 31), .answered(rtt: 1, recovered: false))
    }

    func testSecondPongForTheSamePingIsADuplicate() {
        var heartbeat = afterFirstPing()
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 31), .answered(rtt: 1, recovered: false))
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(1)), now: 32, .duplicate)
        XCTAssertEqual(heartbeat.lastRTT, 1)
        XCTAssertEqual(heartbeat.lastPongAt, 31)
    }

    func testDuplicateAfterALateAnswerDoesNotTouchTheMissCount() {
        var heartbeat = afterFirstPing()
        _ = heartbeat.advance(now: 40)
        XCTAssertEqual(heartbeat.pong(sequence: 1, now: 50), .answered(rtt: 20, recovered: false))
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(1)), now: 51, .duplicate)
    }

    func testDeadIgnoresEveryPong() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(30, 10, slow: 1, dead: 1), now: 0, seed: heartbeatSeed)
        _ = heartbeat.advance(now: 30)
        XCTAssertEqual(heartbeat.advance(now: 40), HeartbeatEvents(missed: 1, becameSlow: true, becameDead: true))
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(1)), now: 41, .dead)
        assertIgnored(&heartbeat, heartbeatPayload(heartbeatToken(7)), now: 41, .dead)
        assertIgnored(&heartbeat, [1, 2, 3], now: 41, .dead)
        XCTAssertEqual(heartbeat.health, .dead)
        XCTAssertNil(heartbeat.lastRTT)
    }

    func testSeedIsPerHeartbeat() {
        var mine = Heartbeat(settings: downstream, now: 0, seed: 1000)
        var other = Heartbeat(settings: downstream, now: 0, seed: 2000)
        XCTAssertEqual(mine.advance(now: 30).pingToken, 1001)
        XCTAssertEqual(other.advance(now: 30).pingToken, 2001)
        XCTAssertEqual(mine.pong(token: 2001, now: 31), .ignored(.unsolicited))
        XCTAssertEqual(mine.pong(token: 1001, now: 31), .answered(rtt: 1, recovered: false))
    }
}
