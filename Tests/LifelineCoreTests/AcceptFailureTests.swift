import Glibc
import XCTest
@testable import LifelineCore

/// What the listener does when accept(2) fails, and how often it says so.
final class AcceptFailureTests: XCTestCase {
    func testOutOfDescriptorsRefusesWithTheReserveWhileItHasOne() {
        XCTAssertEqual(AcceptFailure(errno: EMFILE, reserveAvailable: true), .refuseWithReserve)
        XCTAssertEqual(AcceptFailure(errno: ENFILE, reserveAvailable: true), .refuseWithReserve)
        XCTAssertEqual(AcceptFailure(errno: EMFILE, reserveAvailable: false), .pause)
        XCTAssertEqual(AcceptFailure(errno: ENFILE, reserveAvailable: false), .pause)
    }

    func testOutOfMemoryPausesEvenWithAReserve() {
        // Closing a descriptor frees no kernel memory: the reserve would not help.
        XCTAssertEqual(AcceptFailure(errno: ENOBUFS, reserveAvailable: true), .pause)
        XCTAssertEqual(AcceptFailure(errno: ENOMEM, reserveAvailable: true), .pause)
    }

    func testErrorsOfOnePendingConnectionAreSkipped() {
        for code in [EPROTO, ENETDOWN, EHOSTUNREACH, EPERM] {
            XCTAssertEqual(AcceptFailure(errno: code, reserveAvailable: true), .skip, "errno \(code)")
        }
    }

    func testThrottleLogsTheFirstAtOnceAndFoldsTheRestIntoTheNextDueLine() {
        var throttle = LogThrottle(interval: 10)
        XCTAssertEqual(throttle.record(now: 100), 1)
        XCTAssertNil(throttle.record(now: 100.1))
        XCTAssertNil(throttle.record(now: 105))
        XCTAssertNil(throttle.record(now: 109.99))
        XCTAssertEqual(throttle.record(now: 110), 4, "this one and the three held back")
        XCTAssertNil(throttle.record(now: 115))
        XCTAssertEqual(throttle.record(now: 500), 2)
        XCTAssertEqual(throttle.record(now: 510), 1)
    }

    func testThrottleAtTimeZeroStillLogsTheFirst() {
        var throttle = LogThrottle(interval: 1)
        XCTAssertEqual(throttle.record(now: 0), 1)
        XCTAssertNil(throttle.record(now: 0.5))
    }
}
