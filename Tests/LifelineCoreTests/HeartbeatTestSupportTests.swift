import XCTest
@testable import LifelineCore

// Shared fixtures for the Heartbeat tests. Time is a plain Double the tests set;
// nothing sleeps. The seed is near UInt64.max so the token arithmetic wraps
// (ping 2's token is 0) in every test.

let heartbeatSeed: UInt64 = 0xFFFF_FFFF_FFFF_FFFE

func heartbeatSettings(_ interval: Double, _ timeout: Double, slow: Int, dead: Int) -> HeartbeatSettings {
    HeartbeatSettings(pingIntervalSeconds: interval, pongTimeoutSeconds: timeout,
                      slowAfterMissedPongs: slow, maxMissedPongs: dead)
}

/// The token of ping `sequence` under `heartbeatSeed`.
func heartbeatToken(_ sequence: UInt64) -> UInt64 { heartbeatSeed &+ sequence }

/// The 8 payload bytes `Heartbeat.encodePayload` writes for `token`.
func heartbeatPayload(_ token: UInt64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xAA, count: Heartbeat.payloadLength)
    bytes.withUnsafeMutableBytes { Heartbeat.encodePayload(token, into: $0.baseAddress!) }
    return bytes
}

extension Heartbeat {
    /// Feeds a pong with exactly these payload bytes.
    mutating func pong(bytes: [UInt8], now: Double) -> PongOutcome {
        bytes.withUnsafeBytes { pongReceived($0, now: now) }
    }

    /// Feeds a pong echoing the payload of the ping with this token.
    mutating func pong(token: UInt64, now: Double) -> PongOutcome {
        pong(bytes: heartbeatPayload(token), now: now)
    }

    /// Feeds a pong echoing ping number `sequence` of a heartbeat made with `heartbeatSeed`.
    mutating func pong(sequence: UInt64, now: Double) -> PongOutcome {
        pong(token: heartbeatToken(sequence), now: now)
    }
}

/// When each kind of event happened during a run.
struct HeartbeatTimeline: Equatable {
    var pings: [Double] = []
    var misses: [Double] = []
    var slow: [Double] = []
    var dead: [Double] = []
}

/// Runs a heartbeat the way the runtime does, calling `advance` exactly at each
/// `nextDeadline` up to `limit`, against a peer that answers each ping after
/// `rtt` seconds when `answers(sequence)` says so (never, by default).
func runHeartbeat(_ heartbeat: inout Heartbeat, until limit: Double, rtt: Double = 0.5,
                  answers: (Int) -> Bool = { _ in false },
                  file: StaticString = #filePath, line: UInt = #line) -> HeartbeatTimeline {
    var timeline = HeartbeatTimeline()
    var pongDue: (at: Double, token: UInt64)?
    while true {
        let timer = heartbeat.nextDeadline
        if let pong = pongDue, pong.at <= limit, timer.map({ pong.at < $0 }) ?? true {
            pongDue = nil
            _ = heartbeat.pong(token: pong.token, now: pong.at)
            continue
        }
        guard let now = timer, now <= limit else { return timeline }
        let events = heartbeat.advance(now: now)
        // The runtime re-arms its timer at nextDeadline: it must move on, or the loop spins.
        if let next = heartbeat.nextDeadline, next <= now {
            XCTFail("advance(now: \(now)) left nextDeadline at \(next)", file: file, line: line)
            return timeline
        }
        if events.missed > 0 { timeline.misses.append(now) }
        if events.becameSlow { timeline.slow.append(now) }
        if events.becameDead { timeline.dead.append(now) }
        if let token = events.pingToken {
            timeline.pings.append(now)
            if answers(heartbeat.pingsSent) { pongDue = (now + rtt, token) }
        }
    }
}

/// Checks the fixtures themselves and the payload encoding they rely on.
final class HeartbeatTestSupportTests: XCTestCase {
    func testPayloadIsTheTokenBigEndian() {
        XCTAssertEqual(Heartbeat.payloadLength, 8)
        XCTAssertEqual(heartbeatPayload(0x0102_0304_0506_0708), [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(heartbeatPayload(0), [0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(heartbeatPayload(heartbeatToken(1)), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    func testPayloadCanBeWrittenAtAnyAlignment() {
        var buffer = [UInt8](repeating: 0, count: 11)
        buffer.withUnsafeMutableBytes { Heartbeat.encodePayload(0xA1B2_C3D4_E5F6_0718, into: $0.baseAddress! + 3) }
        XCTAssertEqual(buffer, [0, 0, 0, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18])
    }

    func testRunnerAgainstAnAnsweringPeerNeverMisses() {
        var heartbeat = Heartbeat(settings: heartbeatSettings(30, 10, slow: 2, dead: 3), now: 0, seed: heartbeatSeed)
        let timeline = runHeartbeat(&heartbeat, until: 150, rtt: 0.25, answers: { _ in true })
        XCTAssertEqual(timeline, HeartbeatTimeline(pings: [30, 60, 90, 120, 150]))
        XCTAssertEqual(heartbeat.lastRTT, 0.25)
        XCTAssertEqual(heartbeat.lastPongAt, 120.25)
    }
}
