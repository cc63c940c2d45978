import Foundation
import XCTest
@testable import LifelineCore

/// Arithmetic of the single-writer counters, gauges and histogram, and the locked tables
/// for open-ended labels.
final class MetricsCounterTests: XCTestCase {
    func testCounterAdds() {
        let counter = RelaxedCounter()
        XCTAssertEqual(counter.value, 0)
        counter.add()
        counter.add(41)
        XCTAssertEqual(counter.value, 42)
    }

    func testGaugeAddsSubtractsAndSets() {
        let gauge = RelaxedGauge()
        gauge.add(5)
        gauge.add(-7)
        XCTAssertEqual(gauge.value, -2)
        gauge.set(9)
        XCTAssertEqual(gauge.value, 9)
    }

    func testDoubleGaugeKeepsTheExactValue() {
        let gauge = RelaxedDoubleGauge()
        XCTAssertEqual(gauge.value, 0)
        gauge.set(1_700_000_000.123456)
        XCTAssertEqual(gauge.value, 1_700_000_000.123456)
        gauge.set(-0.5)
        XCTAssertEqual(gauge.value, -0.5)
    }

    func testHistogramBucketEdgesAreInclusive() {
        let histogram = RelaxedHistogram(buckets: [1, 2, 5])
        for value in [1, 1.000001, 2, 5, 6, -3] { histogram.observe(value) }
        let snapshot = histogram.snapshot()
        XCTAssertEqual(snapshot.upperBounds, [1, 2, 5])
        XCTAssertEqual(snapshot.cumulativeCounts, [2, 4, 5, 6])
        XCTAssertEqual(snapshot.count, 6)
        XCTAssertEqual(snapshot.sum, 1 + 1.000001 + 2 + 5 + 6 - 3, accuracy: 1e-9)
    }

    func testHistogramIgnoresNaNAndAnExplicitInfBound() {
        let histogram = RelaxedHistogram(buckets: [0.5, .infinity])
        histogram.observe(.nan)
        histogram.observe(.infinity)
        XCTAssertEqual(histogram.upperBounds, [0.5])
        XCTAssertEqual(histogram.snapshot().cumulativeCounts, [0, 1])
    }

    func testSnapshotsMergeBucketByBucket() {
        let a = RelaxedHistogram(buckets: [1, 2]), b = RelaxedHistogram(buckets: [1, 2])
        a.observe(0.5); a.observe(3)
        b.observe(1.5)
        let merged = a.snapshot().merged(with: b.snapshot())
        XCTAssertEqual(merged.cumulativeCounts, [1, 2, 3])
        XCTAssertEqual(merged.sum, 5)
    }

    func testPongRTTUsesTheSpecifiedBuckets() {
        XCTAssertEqual(WorkerMetrics().pongRTT(.upstream).upperBounds,
                       [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    }

    func testLabelledAccessorsAreDistinct() {
        let metrics = WorkerMetrics()
        metrics.pingsSent(.downstream).add(1)
        metrics.pingsSent(.upstream).add(2)
        metrics.rotations(.server_notice).add(3)
        metrics.bytes(.down).add(4)
        XCTAssertEqual(metrics.pingsSent(.downstream).value, 1)
        XCTAssertEqual(metrics.pingsSent(.upstream).value, 2)
        XCTAssertEqual(RotationReason.allCases.map { metrics.rotations($0).value }, [0, 3, 0, 0, 0])
        XCTAssertEqual(metrics.bytes(.up).value, 0)
        XCTAssertEqual(metrics.bytes(.down).value, 4)
        XCTAssertEqual(metrics.messages(.down).value, 0)
    }

    func testConnectFailureReasonsAreCappedIntoOther() {
        let metrics = WorkerMetrics()
        for index in 0..<40 { metrics.connectFailure(reason: "r\(index)") }
        metrics.connectFailure(reason: "r0")
        let table = metrics.connectFailures.snapshot()
        XCTAssertEqual(table.count, WorkerMetrics.maxConnectFailureReasons + 1)
        XCTAssertEqual(table["r0"], 2)
        XCTAssertEqual(table["other"], 40 - WorkerMetrics.maxConnectFailureReasons)
    }

    /// One writer thread, readers on this one: values only grow and end exact.
    func testAnotherThreadReadsWhatTheWriterCounts() {
        let counter = RelaxedCounter()
        let done = DispatchSemaphore(value: 0)
        let total = 2_000_000
        Thread {
            for _ in 0..<total { counter.add() }
            done.signal()
        }.start()
        var last = 0
        while done.wait(timeout: .now()) == .timedOut {
            let seen = counter.value
            XCTAssertGreaterThanOrEqual(seen, last)
            last = seen
        }
        XCTAssertEqual(counter.value, total)
    }
}
