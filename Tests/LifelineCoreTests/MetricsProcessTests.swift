import Glibc
import XCTest
@testable import LifelineCore

/// Process metrics read from /proc are sane and follow the process's descriptors.
final class MetricsProcessTests: XCTestCase {
    func testProcessMetricsAreSane() throws {
        let snapshot = try XCTUnwrap(ProcessMetrics.read())
        XCTAssertGreaterThan(snapshot.residentMemoryBytes, 0)
        XCTAssertGreaterThanOrEqual(snapshot.openFDs, 3)
        XCTAssertGreaterThanOrEqual(snapshot.cpuSeconds, 0)
        if let maxFDs = snapshot.maxFDs { XCTAssertGreaterThanOrEqual(maxFDs, snapshot.openFDs) }
        let start = try XCTUnwrap(snapshot.startTimeSeconds)
        let now = Double(time(nil))
        XCTAssertLessThanOrEqual(start, now + 1)
        XCTAssertGreaterThan(start, now - 7 * 86_400)
    }

    func testOpenDescriptorsAreCounted() throws {
        let before = try XCTUnwrap(ProcessMetrics.read()).openFDs
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&fds), 0)
        let during = try XCTUnwrap(ProcessMetrics.read()).openFDs
        close(fds[0]); close(fds[1])
        XCTAssertEqual(during - before, 2)
    }

    func testCPUTimeGrowsWithWork() throws {
        let before = try XCTUnwrap(ProcessMetrics.read()).cpuSeconds
        var x: UInt64 = 1
        let deadline = clock() + clock_t(CLOCKS_PER_SEC / 20)
        while clock() < deadline { x = x &* 6364136223846793005 &+ 1 }
        XCTAssertNotEqual(x, 0)
        XCTAssertGreaterThan(try XCTUnwrap(ProcessMetrics.read()).cpuSeconds, before)
    }
}
