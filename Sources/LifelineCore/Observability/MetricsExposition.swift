/// Renders the `/metrics` document (Prometheus text format 0.0.4, spec §6) from every
/// worker's `WorkerMetrics`. Owns the family list, its order (spec §6's table), HELP texts,
/// and how workers combine: counters, gauges and histograms are summed, the last-pong
/// timestamp is the maximum, and the oldest upstream age is `now` minus the earliest
/// non-zero connection time (0 when none). Every family is always present; fixed label
/// sets print every value, open-ended ones print the series that exist.
public enum MetricsExposition {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// - Parameters:
    ///   - now: wall-clock seconds (the same clock as `oldestUpstreamConnectedAt`).
    ///   - process: process metrics, appended when given.
    public static func render(_ workers: [WorkerMetrics], now: Double, process: ProcessMetrics.Snapshot?) -> String {
        var out = MetricsTextWriter()
        let all = WorkerSum(workers)
        out.header("lifeline_sessions", .gauge, "Client sessions currently open.")
        out.sample("lifeline_sessions", all.sum { $0.sessions.value })
        out.header("lifeline_sessions_total", .counter, "Client sessions accepted since start.")
        out.sample("lifeline_sessions_total", all.sum { $0.sessionsTotal.value })
        out.header("lifeline_upstream_connections", .gauge, "Upstream connections currently open.")
        out.sample("lifeline_upstream_connections", all.sum { $0.upstreamConnections.value })
        bySide(&out, all, "lifeline_pings_sent_total", .counter, "Pings sent by Lifeline, by side.") { w, s in w.pingsSent(s).value }
        bySide(&out, all, "lifeline_pongs_received_total", .counter, "Pongs received for Lifeline's pings, by side.") { w, s in w.pongsReceived(s).value }
        bySide(&out, all, "lifeline_pong_timeouts_total", .counter, "Pings whose pong did not arrive in time, by side.") { w, s in w.pongTimeouts(s).value }
        out.header("lifeline_last_pong_timestamp_seconds", .gauge, "Unix time of the latest pong received, by side (0 before the first).")
        for side in MetricSide.allCases {
            out.sample("lifeline_last_pong_timestamp_seconds", labels: [("side", side.label)], all.max { $0.lastPongTimestamp(side).value })
        }
        out.header("lifeline_pong_rtt_seconds", .histogram, "Time from ping to pong, by side.")
        for side in MetricSide.allCases {
            out.histogram("lifeline_pong_rtt_seconds", [("side", side.label)], all.histogram(bounds: WorkerMetrics.pongRTTBuckets) { $0.pongRTT(side) })
        }
        bySide(&out, all, "lifeline_slow_connections", .gauge, "Connections currently slow (missed slow_after_missed_pongs pongs in a row), by side.") { w, s in w.slowConnections(s).value }
        bySide(&out, all, "lifeline_dead_connections_total", .counter, "Connections closed as dead after missed pongs, by side.") { w, s in w.deadConnections(s).value }
        out.header("lifeline_upstream_rotations_total", .counter, "Upstream connections replaced, by reason.")
        for reason in RotationReason.allCases {
            out.sample("lifeline_upstream_rotations_total", labels: [("reason", reason.label)], all.sum { $0.rotations(reason).value })
        }
        out.header("lifeline_upstream_connect_failures_total", .counter, "Failed upstream connection attempts, by reason.")
        for (reason, count) in all.rare({ $0.connectFailures }).sorted(by: { $0.key < $1.key }) {
            out.sample("lifeline_upstream_connect_failures_total", labels: [("reason", reason)], count)
        }
        out.header("lifeline_upstream_oldest_connection_age_seconds", .gauge, "Age of the oldest open upstream connection (0 when none).")
        out.sample("lifeline_upstream_oldest_connection_age_seconds", all.oldestAge(now: now))
        byDirection(&out, all, "lifeline_messages_total", "WebSocket messages relayed, by direction (up: app to upstream).") { w, d in w.messages(d).value }
        byDirection(&out, all, "lifeline_bytes_total", "Message payload bytes relayed, by direction (up: app to upstream).") { w, d in w.bytes(d).value }
        out.header("lifeline_replayed_messages_total", .counter, "Messages replayed to a new upstream connection.")
        out.sample("lifeline_replayed_messages_total", all.sum { $0.replayedMessages.value })
        out.header("lifeline_deduplicated_messages_total", .counter, "Duplicate messages dropped after a replay.")
        out.sample("lifeline_deduplicated_messages_total", all.sum { $0.deduplicatedMessages.value })
        out.header("lifeline_protocol_errors_total", .counter, "WebSocket protocol errors, by side and close code.")
        for (key, count) in all.rare({ $0.protocolErrors }).sorted(by: { $0.key < $1.key }) {
            out.sample("lifeline_protocol_errors_total", labels: [("side", key.side.label), ("code", String(key.code))], count)
        }
        out.header("lifeline_handshake_failures_total", .counter, "Failed client handshakes, by HTTP status answered.")
        for (status, count) in all.rare({ $0.handshakeFailures }).sorted(by: { $0.key < $1.key }) {
            out.sample("lifeline_handshake_failures_total", labels: [("status", String(status))], count)
        }
        out.header("lifeline_rejected_inputs_total", .counter, "Handshake input refused as malformed, oversized, contradictory or too slow, by side and reason.")
        for side in MetricSide.allCases {
            for reason in RejectedInput.allCases where reason.applies(to: side) {
                out.sample("lifeline_rejected_inputs_total", labels: [("side", side.label), ("reason", reason.label)],
                           all.sum { $0.rejectedInputs(side, reason).value })
            }
        }
        if let process { ProcessMetrics.render(process, into: &out) }
        return out.text
    }

    private static func bySide(_ out: inout MetricsTextWriter, _ all: WorkerSum, _ name: String, _ kind: MetricsTextWriter.Kind,
                               _ help: String, _ value: (WorkerMetrics, MetricSide) -> Int) {
        out.header(name, kind, help)
        for side in MetricSide.allCases {
            out.sample(name, labels: [("side", side.label)], all.sum { value($0, side) })
        }
    }

    private static func byDirection(_ out: inout MetricsTextWriter, _ all: WorkerSum, _ name: String, _ help: String,
                                    _ value: (WorkerMetrics, MetricDirection) -> Int) {
        out.header(name, .counter, help)
        for direction in MetricDirection.allCases {
            out.sample(name, labels: [("direction", direction.label)], all.sum { value($0, direction) })
        }
    }
}
