import XCTest
@testable import LifelineCore

/// RotationSchedule: a lifetime in [max − jitter, max], or never.
final class ReplaceRotationScheduleTests: XCTestCase {
    func testBounds() {
        XCTAssertEqual(RotationSchedule.lifetime(maxLifetime: 14400, jitter: 60, random: 0), 14340)
        XCTAssertEqual(RotationSchedule.lifetime(maxLifetime: 14400, jitter: 60, random: 1), 14400)
        XCTAssertEqual(RotationSchedule.lifetime(maxLifetime: 14400, jitter: 60, random: 0.5), 14370)
        var random = ReplaceRandom(seed: 42)
        for _ in 0..<1000 {
            let age = RotationSchedule.lifetime(maxLifetime: 100, jitter: 30,
                                                random: Double.random(in: 0..<1, using: &random))
            XCTAssertNotNil(age)
            XCTAssertGreaterThanOrEqual(age ?? 0, 70)
            XCTAssertLessThanOrEqual(age ?? .infinity, 100)
        }
    }

    func testNoJitterIsExactlyMaxLifetime() {
        XCTAssertEqual(RotationSchedule.lifetime(maxLifetime: 3600, jitter: 0, random: 0.3), 3600)
    }

    func testZeroMaxLifetimeNeverRotates() {
        XCTAssertNil(RotationSchedule.lifetime(maxLifetime: 0, jitter: 0, random: 0.5))
        XCTAssertNil(RotationSchedule.lifetime(maxLifetime: 0, jitter: 60, random: 0.5))
    }

    func testJitterIsClampedToTheLifetime() {
        XCTAssertEqual(RotationSchedule.lifetime(maxLifetime: 10, jitter: 60, random: 0), 0)
        XCTAssertEqual(RotationSchedule.lifetime(maxLifetime: 10, jitter: 60, random: 0.25), 2.5)
        XCTAssertEqual(RotationSchedule.lifetime(maxLifetime: 10, jitter: -5, random: 0), 10)
        XCTAssertEqual(RotationSchedule.lifetime(maxLifetime: 10, jitter: 4, random: 7), 10, "random clamped")
    }
}
