import XCTest
@testable import LifelineCore

/// A fresh registry's document against spec §6: every family present with the right type,
/// in the table's order, fixed label sets complete, every sample belonging to a declared family.
final class MetricsFamilyNamesTests: XCTestCase {
    /// Spec §6's table, transcribed: name and type, in order.
    static let specFamilies: [(name: String, type: String)] = [
        ("lifeline_sessions", "gauge"),
        ("lifeline_sessions_total", "counter"),
        ("lifeline_upstream_connections", "gauge"),
        ("lifeline_pings_sent_total", "counter"),
        ("lifeline_pongs_received_total", "counter"),
        ("lifeline_pong_timeouts_total", "counter"),
        ("lifeline_last_pong_timestamp_seconds", "gauge"),
        ("lifeline_pong_rtt_seconds", "histogram"),
        ("lifeline_slow_connections", "gauge"),
        ("lifeline_dead_connections_total", "counter"),
        ("lifeline_upstream_rotations_total", "counter"),
        ("lifeline_upstream_connect_failures_total", "counter"),
        ("lifeline_upstream_oldest_connection_age_seconds", "gauge"),
        ("lifeline_messages_total", "counter"),
        ("lifeline_bytes_total", "counter"),
        ("lifeline_replayed_messages_total", "counter"),
        ("lifeline_deduplicated_messages_total", "counter"),
        ("lifeline_protocol_errors_total", "counter"),
        ("lifeline_handshake_failures_total", "counter"),
        // Beyond spec §6 (issue 7, SECURITY.md "Hostile input").
        ("lifeline_rejected_inputs_total", "counter"),
    ]
    static let specProcessFamilies = ["process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total"]
    static let extraProcessFamilies = ["process_max_fds", "process_start_time_seconds"]

    private let text = MetricsExposition.render([WorkerMetrics(), WorkerMetrics()], now: 1_700_000_000, process: ProcessMetrics.read())

    /// (name, type) of every `# TYPE` line, in order.
    private var declared: [(name: String, type: String)] {
        text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { line in
            let parts = line.split(separator: " ")
            return (String(parts[2]), String(parts[3]))
        }
    }

    func testEverySpecFamilyIsDeclaredInOrderWithItsType() {
        let lifeline = declared.filter { $0.name.hasPrefix("lifeline_") }
        XCTAssertEqual(lifeline.map(\.name), Self.specFamilies.map(\.name))
        XCTAssertEqual(lifeline.map(\.type), Self.specFamilies.map(\.type))
    }

    func testProcessFamiliesArePresent() {
        let names = Set(declared.map(\.name))
        for name in Self.specProcessFamilies { XCTAssertTrue(names.contains(name), name) }
        let unexpected = names.subtracting(Self.specFamilies.map(\.name) + Self.specProcessFamilies + Self.extraProcessFamilies)
        XCTAssertEqual(unexpected, [])
    }

    func testEveryFamilyHasHelpAndEverySampleADeclaredFamily() {
        let names = Set(declared.map(\.name))
        let helped = Set(text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { String($0.split(separator: " ")[2]) })
        XCTAssertEqual(helped, names)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            var name = String(line.prefix { $0 != "{" && $0 != " " })
            for suffix in ["_bucket", "_sum", "_count"] where !names.contains(name) && name.hasSuffix(suffix) {
                name = String(name.dropLast(suffix.count))
            }
            XCTAssertTrue(names.contains(name), "sample of an undeclared family: \(line)")
            XCTAssertNotNil(Double(line.split(separator: " ").last!.replacing("+Inf", with: "inf")), String(line))
        }
    }

    func testFixedLabelSetsArePrintedAtZero() {
        func samples(_ name: String) -> [Substring] {
            text.split(separator: "\n").filter { $0.hasPrefix(name + "{") }
        }
        for name in ["lifeline_pings_sent_total", "lifeline_pongs_received_total", "lifeline_pong_timeouts_total",
                     "lifeline_last_pong_timestamp_seconds", "lifeline_slow_connections", "lifeline_dead_connections_total"] {
            XCTAssertEqual(samples(name), ["\(name){side=\"downstream\"} 0", "\(name){side=\"upstream\"} 0"])
        }
        XCTAssertEqual(samples("lifeline_upstream_rotations_total").count, 5)
        XCTAssertEqual(samples("lifeline_messages_total"), ["lifeline_messages_total{direction=\"up\"} 0",
                                                            "lifeline_messages_total{direction=\"down\"} 0"])
        XCTAssertEqual(samples("lifeline_pong_rtt_seconds_bucket").count, 2 * 15)
        XCTAssertEqual(samples("lifeline_protocol_errors_total"), [])
        XCTAssertTrue(text.hasSuffix("\n"))
    }
}
