import XCTest
@testable import LifelineCore

/// Backoff: exponential delays, the cap, the jitter bounds and maxAttempts.
final class ReplaceBackoffTests: XCTestCase {
    private func backoff(initial: Double = 0.1, max: Double = 30, multiplier: Double = 2, jitter: Double = 0,
                         attempts: Int = 0) -> Backoff {
        Backoff(settings: ReconnectSettings(initialDelaySeconds: initial, maxDelaySeconds: max,
                                            multiplier: multiplier, jitter: jitter, maxAttempts: attempts))
    }

    func testExactDelaysWithoutJitter() {
        let delays = (1...8).map { backoff().delay(attempt: $0, random: 0.5) }
        XCTAssertEqual(delays, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8])
        let whole = (1...8).map { backoff(initial: 1, max: 30).delay(attempt: $0, random: 0.9) }
        XCTAssertEqual(whole, [1, 2, 4, 8, 16, 30, 30, 30])
    }

    func testCappedAtMaxEvenForHugeAttempts() {
        XCTAssertEqual(backoff().delay(attempt: 9, random: 0), 25.6)
        XCTAssertEqual(backoff().delay(attempt: 10, random: 0), 30)
        XCTAssertEqual(backoff().delay(attempt: 5000, random: 0), 30)
        XCTAssertEqual(backoff().delay(attempt: .max, random: 0), 30)
        XCTAssertEqual(backoff(multiplier: 1).delay(attempt: 1_000_000, random: 0), 0.1)
    }

    func testAttemptBelowOneCountsAsTheFirst() {
        XCTAssertEqual(backoff().delay(attempt: 0, random: 0), 0.1)
        XCTAssertEqual(backoff().delay(attempt: -3, random: 0), 0.1)
    }

    func testJitterBounds() {
        let jittered = backoff(jitter: 0.2)
        for attempt in 1...12 {
            let base = backoff().delay(attempt: attempt, random: 0)
            XCTAssertEqual(jittered.delay(attempt: attempt, random: 0), base * 0.8, accuracy: 1e-12)
            XCTAssertEqual(jittered.delay(attempt: attempt, random: 1), base * 1.2, accuracy: 1e-12)
            XCTAssertEqual(jittered.delay(attempt: attempt, random: 0.5), base, accuracy: 1e-12)
            var random = ReplaceRandom(seed: UInt64(attempt))
            for _ in 0..<100 {
                let delay = jittered.delay(attempt: attempt, random: Double.random(in: 0..<1, using: &random))
                XCTAssertGreaterThanOrEqual(delay, base * 0.8 - 1e-12)
                XCTAssertLessThanOrEqual(delay, base * 1.2 + 1e-12)
            }
        }
        XCTAssertEqual(jittered.delay(attempt: 20, random: 1), 36, accuracy: 1e-12, "jitter applies after the cap")
    }

    func testNeverBelowOneMillisecond() {
        XCTAssertEqual(backoff(initial: 0.001, jitter: 1).delay(attempt: 1, random: 0), 0.001)
        XCTAssertEqual(backoff(initial: 0.001, jitter: 0.5).delay(attempt: 1, random: 0), 0.001)
        XCTAssertEqual(backoff(initial: 0.001, jitter: 1).delay(attempt: 1, random: 1), 0.002)
    }

    func testOutOfRangeRandomIsClamped() {
        XCTAssertEqual(backoff(initial: 1, jitter: 0.5).delay(attempt: 1, random: -4), 0.5)
        XCTAssertEqual(backoff(initial: 1, jitter: 0.5).delay(attempt: 1, random: 9), 1.5)
    }

    func testMaxAttempts() {
        let limited = backoff(attempts: 3)
        XCTAssertEqual((1...5).map(limited.allows), [true, true, true, false, false])
        let unlimited = backoff(attempts: 0)
        XCTAssertTrue(unlimited.allows(attempt: 1))
        XCTAssertTrue(unlimited.allows(attempt: 1_000_000_000))
    }
}
