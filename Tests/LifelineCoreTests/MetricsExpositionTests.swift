import XCTest
@testable import LifelineCore

/// The rendered document for a two-worker fixture, family by family, compared exactly:
/// HELP/TYPE lines, label order, sums across workers, cumulative buckets, the maximum
/// timestamp and the oldest-connection age.
final class MetricsExpositionTests: XCTestCase {
    private var text = ""

    override func setUp() {
        let a = WorkerMetrics(), b = WorkerMetrics()
        a.sessions.add(3); b.sessions.add(1)
        a.sessionsTotal.add(10); b.sessionsTotal.add(4)
        a.upstreamConnections.add(2)
        a.pingsSent(.downstream).add(5); b.pingsSent(.downstream).add(2); a.pingsSent(.upstream).add(1)
        a.lastPongTimestamp(.downstream).set(1000.5); b.lastPongTimestamp(.downstream).set(999)
        b.lastPongTimestamp(.upstream).set(1001.25)
        a.pongRTT(.downstream).observe(0.0005); a.pongRTT(.downstream).observe(0.003)
        b.pongRTT(.downstream).observe(20); b.pongRTT(.upstream).observe(0.1)
        b.slowConnections(.upstream).add(1)
        a.rotations(.lifetime).add(2); b.rotations(.lifetime).add(1); b.rotations(.upstream_error).add(1)
        a.connectFailure(reason: "refused"); b.connectFailure(reason: "refused"); b.connectFailure(reason: "dns")
        a.oldestUpstreamConnectedAt.set(1000); b.oldestUpstreamConnectedAt.set(1100)
        a.messages(.up).add(7); b.messages(.down).add(9)
        a.bytes(.up).add(700); b.bytes(.down).add(900)
        a.replayedMessages.add(1); b.deduplicatedMessages.add(2)
        a.protocolError(side: .upstream, code: 1002); b.protocolError(side: .upstream, code: 1002)
        b.protocolError(side: .downstream, code: 1009)
        a.handshakeFailure(status: 400); b.handshakeFailure(status: 502); b.handshakeFailure(status: 400)
        a.rejectedInputs(.downstream, .duplicateHeader).add(2); b.rejectedInputs(.downstream, .duplicateHeader).add(1)
        b.rejectedInputs(.upstream, .bodyOn101).add(4)
        text = MetricsExposition.render([a, b], now: 1010.5, process: nil)
    }

    /// The HELP, TYPE and sample lines of one family (histogram suffixes included).
    private func family(_ name: String) -> String {
        text.split(separator: "\n").filter { line in
            if line.hasPrefix("# HELP \(name) ") || line.hasPrefix("# TYPE \(name) ") { return true }
            let sampleName = line.prefix { $0 != "{" && $0 != " " }
            return [name, name + "_bucket", name + "_sum", name + "_count"].contains(String(sampleName))
        }.map { $0 + "\n" }.joined()
    }

    func testUnlabelledFamiliesAreSummed() {
        XCTAssertEqual(family("lifeline_sessions"), """
            # HELP lifeline_sessions Client sessions currently open.
            # TYPE lifeline_sessions gauge
            lifeline_sessions 4

            """)
        XCTAssertEqual(family("lifeline_sessions_total"), """
            # HELP lifeline_sessions_total Client sessions accepted since start.
            # TYPE lifeline_sessions_total counter
            lifeline_sessions_total 14

            """)
        XCTAssertTrue(text.contains("\nlifeline_replayed_messages_total 1\n"))
        XCTAssertTrue(text.contains("\nlifeline_deduplicated_messages_total 2\n"))
        XCTAssertTrue(text.contains("\nlifeline_upstream_connections 2\n"))
    }

    func testSideFamiliesPrintBothSides() {
        XCTAssertEqual(family("lifeline_pings_sent_total"), """
            # HELP lifeline_pings_sent_total Pings sent by Lifeline, by side.
            # TYPE lifeline_pings_sent_total counter
            lifeline_pings_sent_total{side="downstream"} 7
            lifeline_pings_sent_total{side="upstream"} 1

            """)
        XCTAssertEqual(family("lifeline_slow_connections"), """
            # HELP lifeline_slow_connections Connections currently slow (missed slow_after_missed_pongs pongs in a row), by side.
            # TYPE lifeline_slow_connections gauge
            lifeline_slow_connections{side="downstream"} 0
            lifeline_slow_connections{side="upstream"} 1

            """)
    }

    func testLastPongTimestampIsTheMaximum() {
        XCTAssertEqual(family("lifeline_last_pong_timestamp_seconds"), """
            # HELP lifeline_last_pong_timestamp_seconds Unix time of the latest pong received, by side (0 before the first).
            # TYPE lifeline_last_pong_timestamp_seconds gauge
            lifeline_last_pong_timestamp_seconds{side="downstream"} 1000.5
            lifeline_last_pong_timestamp_seconds{side="upstream"} 1001.25

            """)
    }

    func testHistogramBucketsAreCumulativeAndSummed() {
        XCTAssertEqual(family("lifeline_pong_rtt_seconds"), """
            # HELP lifeline_pong_rtt_seconds Time from ping to pong, by side.
            # TYPE lifeline_pong_rtt_seconds histogram
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.0005"} 1
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.001"} 1
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.0025"} 1
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.005"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.01"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.025"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.05"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.1"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.25"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="0.5"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="1"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="2.5"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="5"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="10"} 2
            lifeline_pong_rtt_seconds_bucket{side="downstream",le="+Inf"} 3
            lifeline_pong_rtt_seconds_sum{side="downstream"} 20.0035
            lifeline_pong_rtt_seconds_count{side="downstream"} 3
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.0005"} 0
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.001"} 0
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.0025"} 0
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.005"} 0
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.01"} 0
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.025"} 0
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.05"} 0
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.1"} 1
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.25"} 1
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="0.5"} 1
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="1"} 1
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="2.5"} 1
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="5"} 1
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="10"} 1
            lifeline_pong_rtt_seconds_bucket{side="upstream",le="+Inf"} 1
            lifeline_pong_rtt_seconds_sum{side="upstream"} 0.1
            lifeline_pong_rtt_seconds_count{side="upstream"} 1

            """)
    }

    func testRotationsPrintEveryReason() {
        XCTAssertEqual(family("lifeline_upstream_rotations_total"), """
            # HELP lifeline_upstream_rotations_total Upstream connections replaced, by reason.
            # TYPE lifeline_upstream_rotations_total counter
            lifeline_upstream_rotations_total{reason="lifetime"} 3
            lifeline_upstream_rotations_total{reason="server_notice"} 0
            lifeline_upstream_rotations_total{reason="pong_timeout"} 0
            lifeline_upstream_rotations_total{reason="upstream_close"} 0
            lifeline_upstream_rotations_total{reason="upstream_error"} 1

            """)
    }

    func testDirectionFamilies() {
        XCTAssertEqual(family("lifeline_bytes_total"), """
            # HELP lifeline_bytes_total Message payload bytes relayed, by direction (up: app to upstream).
            # TYPE lifeline_bytes_total counter
            lifeline_bytes_total{direction="up"} 700
            lifeline_bytes_total{direction="down"} 900

            """)
        XCTAssertTrue(family("lifeline_messages_total").hasSuffix("""
            lifeline_messages_total{direction="up"} 7
            lifeline_messages_total{direction="down"} 9

            """))
    }

    func testOpenEndedFamiliesAreSortedAndSummed() {
        XCTAssertEqual(family("lifeline_upstream_connect_failures_total"), """
            # HELP lifeline_upstream_connect_failures_total Failed upstream connection attempts, by reason.
            # TYPE lifeline_upstream_connect_failures_total counter
            lifeline_upstream_connect_failures_total{reason="dns"} 1
            lifeline_upstream_connect_failures_total{reason="refused"} 2

            """)
        XCTAssertEqual(family("lifeline_protocol_errors_total"), """
            # HELP lifeline_protocol_errors_total WebSocket protocol errors, by side and close code.
            # TYPE lifeline_protocol_errors_total counter
            lifeline_protocol_errors_total{side="downstream",code="1009"} 1
            lifeline_protocol_errors_total{side="upstream",code="1002"} 2

            """)
        XCTAssertEqual(family("lifeline_handshake_failures_total"), """
            # HELP lifeline_handshake_failures_total Failed client handshakes, by HTTP status answered.
            # TYPE lifeline_handshake_failures_total counter
            lifeline_handshake_failures_total{status="400"} 2
            lifeline_handshake_failures_total{status="502"} 1

            """)
    }

    func testRejectedInputsPrintEveryApplicableReasonPerSideSummed() {
        let lines = family("lifeline_rejected_inputs_total").split(separator: "\n")
        XCTAssertEqual(lines.first, "# HELP lifeline_rejected_inputs_total Handshake input refused as malformed, oversized, contradictory or too slow, by side and reason.")
        XCTAssertEqual(lines.dropFirst().first, "# TYPE lifeline_rejected_inputs_total counter")
        let samples = lines.dropFirst(2)
        // 5 shared reasons on both sides, 8 request-only, 6 response-only.
        XCTAssertEqual(samples.count, 5 * 2 + 8 + 6)
        XCTAssertTrue(samples.contains("lifeline_rejected_inputs_total{side=\"downstream\",reason=\"duplicate_header\"} 3"))
        XCTAssertTrue(samples.contains("lifeline_rejected_inputs_total{side=\"upstream\",reason=\"body_on_101\"} 4"))
        XCTAssertTrue(samples.contains("lifeline_rejected_inputs_total{side=\"upstream\",reason=\"head_too_large\"} 0"))
        XCTAssertFalse(samples.contains { $0.contains("side=\"upstream\",reason=\"duplicate_header\"") })
        XCTAssertFalse(samples.contains { $0.contains("side=\"downstream\",reason=\"body_on_101\"") })
        XCTAssertEqual(samples.filter { !$0.hasSuffix(" 0") }.count, 2)
    }

    func testOldestConnectionAgeUsesTheEarliestStart() {
        XCTAssertEqual(family("lifeline_upstream_oldest_connection_age_seconds"), """
            # HELP lifeline_upstream_oldest_connection_age_seconds Age of the oldest open upstream connection (0 when none).
            # TYPE lifeline_upstream_oldest_connection_age_seconds gauge
            lifeline_upstream_oldest_connection_age_seconds 10.5

            """)
    }

    func testOldestConnectionAgeIgnoresWorkersWithoutOne() {
        let none = WorkerMetrics(), some = WorkerMetrics()
        some.oldestUpstreamConnectedAt.set(50)
        XCTAssertTrue(MetricsExposition.render([none, some], now: 80, process: nil)
            .contains("\nlifeline_upstream_oldest_connection_age_seconds 30\n"))
        XCTAssertTrue(MetricsExposition.render([none], now: 80, process: nil)
            .contains("\nlifeline_upstream_oldest_connection_age_seconds 0\n"))
        XCTAssertTrue(MetricsExposition.render([some], now: 40, process: nil)
            .contains("\nlifeline_upstream_oldest_connection_age_seconds 0\n"), "a clock step never makes it negative")
    }

    func testProcessFamiliesRenderExactly() {
        let snapshot = ProcessMetrics.Snapshot(residentMemoryBytes: 4096, openFDs: 7, maxFDs: 1024,
                                               cpuSeconds: 0.25, startTimeSeconds: 1_700_000_000.5)
        let rendered = MetricsExposition.render([], now: 0, process: snapshot)
        XCTAssertTrue(rendered.hasSuffix("""
            # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
            # TYPE process_cpu_seconds_total counter
            process_cpu_seconds_total 0.25
            # HELP process_open_fds Number of open file descriptors.
            # TYPE process_open_fds gauge
            process_open_fds 7
            # HELP process_max_fds Maximum number of open file descriptors.
            # TYPE process_max_fds gauge
            process_max_fds 1024
            # HELP process_resident_memory_bytes Resident memory size in bytes.
            # TYPE process_resident_memory_bytes gauge
            process_resident_memory_bytes 4096
            # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
            # TYPE process_start_time_seconds gauge
            process_start_time_seconds 1700000000.5

            """), rendered)
    }
}
