import XCTest
@testable import LifelineCore

/// Number and label spelling in the text format: integers plain, no exponents, escapes.
final class MetricsFormatTests: XCTestCase {
    func testIntegralValuesArePlainIntegers() {
        XCTAssertEqual(MetricValueFormat.format(10.0), "10")
        XCTAssertEqual(MetricValueFormat.format(0.0), "0")
        XCTAssertEqual(MetricValueFormat.format(-0.0), "0")
        XCTAssertEqual(MetricValueFormat.format(-3.0), "-3")
        XCTAssertEqual(MetricValueFormat.format(1e15), "1000000000000000")
        XCTAssertEqual(MetricValueFormat.format(42), "42")
    }

    func testFractionsHaveNoExponent() {
        XCTAssertEqual(MetricValueFormat.format(0.0005), "0.0005")
        XCTAssertEqual(MetricValueFormat.format(0.00001), "0.00001")
        XCTAssertEqual(MetricValueFormat.format(1.5e-7), "0.00000015")
        XCTAssertEqual(MetricValueFormat.format(-2.5e-6), "-0.0000025")
        XCTAssertEqual(MetricValueFormat.format(2.5), "2.5")
        XCTAssertEqual(MetricValueFormat.format(1_700_000_000.25), "1700000000.25")
    }

    func testHugeValuesHaveNoExponent() {
        XCTAssertEqual(MetricValueFormat.format(1e20), "100000000000000000000")
        XCTAssertEqual(MetricValueFormat.format(1.25e20), "125000000000000000000")
        XCTAssertEqual(MetricValueFormat.withoutExponent("1.2345e+2"), "123.45")
    }

    func testSpecialValues() {
        XCTAssertEqual(MetricValueFormat.format(Double.nan), "NaN")
        XCTAssertEqual(MetricValueFormat.format(Double.infinity), "+Inf")
        XCTAssertEqual(MetricValueFormat.format(-Double.infinity), "-Inf")
    }

    func testLabelValuesAndHelpAreEscaped() {
        XCTAssertEqual(MetricValueFormat.escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd")
        XCTAssertEqual(MetricValueFormat.escapeLabelValue("plain"), "plain")
        XCTAssertEqual(MetricValueFormat.escapeHelp("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"")
    }

    func testAnEscapedConnectFailureReasonRenders() {
        let metrics = WorkerMetrics()
        metrics.connectFailure(reason: "tls \"alert\"")
        let text = MetricsExposition.render([metrics], now: 0, process: nil)
        XCTAssertTrue(text.contains("lifeline_upstream_connect_failures_total{reason=\"tls \\\"alert\\\"\"} 1\n"))
    }
}
