import XCTest
@testable import LifelineCore

/// Table-driven runs of whole heartbeats against a silent peer: the exact times
/// of every ping, miss and transition, starting with the spec's default settings.
final class HeartbeatDefaultsTests: XCTestCase {
    private struct Row {
        let name: String
        let settings: HeartbeatSettings
        let start: Double
        let expected: HeartbeatTimeline
    }

    private let rows: [Row] = [
        Row(name: "downstream default 30/10/2/3", settings: .downstreamDefault, start: 0,
            expected: HeartbeatTimeline(pings: [30, 60, 90], misses: [40, 70, 100], slow: [70], dead: [100])),
        Row(name: "upstream default 180/10/1/2", settings: .upstreamDefault, start: 0,
            expected: HeartbeatTimeline(pings: [180, 360], misses: [190, 370], slow: [190], dead: [370])),
        Row(name: "downstream default from t=1000", settings: .downstreamDefault, start: 1000,
            expected: HeartbeatTimeline(pings: [1030, 1060, 1090], misses: [1040, 1070, 1100], slow: [1070], dead: [1100])),
        Row(name: "interval == timeout 10/10/1/1", settings: heartbeatSettings(10, 10, slow: 1, dead: 1), start: 0,
            expected: HeartbeatTimeline(pings: [10], misses: [20], slow: [20], dead: [20])),
        Row(name: "interval == timeout 5/5/2/4", settings: heartbeatSettings(5, 5, slow: 2, dead: 4), start: 0,
            expected: HeartbeatTimeline(pings: [5, 10, 15, 20], misses: [10, 15, 20, 25], slow: [15], dead: [25])),
        Row(name: "short 0.5/0.25/3/3", settings: heartbeatSettings(0.5, 0.25, slow: 3, dead: 3), start: 0,
            expected: HeartbeatTimeline(pings: [0.5, 1, 1.5], misses: [0.75, 1.25, 1.75], slow: [1.75], dead: [1.75])),
    ]

    func testSilentPeerTimeline() {
        for row in rows {
            var heartbeat = Heartbeat(settings: row.settings, now: row.start, seed: heartbeatSeed)
            let timeline = runHeartbeat(&heartbeat, until: row.start + 100_000)
            XCTAssertEqual(timeline, row.expected, row.name)
            XCTAssertEqual(heartbeat.health, .dead, row.name)
            XCTAssertEqual(heartbeat.pingsSent, row.expected.pings.count, row.name)
            XCTAssertEqual(heartbeat.consecutiveMisses, row.settings.maxMissedPongs, row.name)
            XCTAssertNil(heartbeat.nextDeadline, row.name)
        }
    }

    func testAnsweringPeerStaysOkForever() {
        for row in rows {
            var heartbeat = Heartbeat(settings: row.settings, now: row.start, seed: heartbeatSeed)
            let rtt = row.settings.pongTimeoutSeconds / 2
            let timeline = runHeartbeat(&heartbeat, until: row.start + row.settings.pingIntervalSeconds * 100,
                                        rtt: rtt, answers: { _ in true })
            XCTAssertEqual(timeline.pings.count, 100, row.name)
            XCTAssertEqual(timeline.misses, [], row.name)
            XCTAssertEqual(heartbeat.health, .ok, row.name)
            XCTAssertEqual(heartbeat.lastRTT, rtt, row.name)
        }
    }

    func testPingsOffWithDefaultThresholdsNeverDie() {
        var settings = HeartbeatSettings.downstreamDefault
        settings.pingIntervalSeconds = 0
        var heartbeat = Heartbeat(settings: settings, now: 0, seed: heartbeatSeed)
        XCTAssertEqual(runHeartbeat(&heartbeat, until: 1e9), HeartbeatTimeline())
        XCTAssertEqual(heartbeat.advance(now: 1e9), .none)
        XCTAssertEqual(heartbeat.health, .ok)
    }
}
