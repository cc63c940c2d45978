/// Everything one worker counts (spec §6), one field or accessor per metric family. Owned by
/// the worker's loop thread, the only writer; the admin thread reads every worker's instance
/// at scrape time and `MetricsExposition` sums them. Fixed label sets are arrays indexed by
/// the label enums; open-ended labels go to small locked dictionaries.
public final class WorkerMetrics: Sendable {
    /// Upper bounds of `lifeline_pong_rtt_seconds`, in seconds.
    public static let pongRTTBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Distinct connect-failure reasons kept before further ones count as `other`.
    static let maxConnectFailureReasons = 32

    /// `lifeline_sessions`: live sessions.
    public let sessions = RelaxedGauge()
    /// `lifeline_sessions_total`: sessions ever accepted.
    public let sessionsTotal = RelaxedCounter()
    /// `lifeline_upstream_connections`: open upstream connections.
    public let upstreamConnections = RelaxedGauge()
    /// `lifeline_replayed_messages_total`.
    public let replayedMessages = RelaxedCounter()
    /// `lifeline_deduplicated_messages_total`.
    public let deduplicatedMessages = RelaxedCounter()
    /// Wall-clock seconds at which this worker's oldest live upstream connection opened; 0 = none.
    public let oldestUpstreamConnectedAt = RelaxedDoubleGauge()

    private let pingsSentBySide = WorkerMetrics.perSide { RelaxedCounter() }
    private let pongsReceivedBySide = WorkerMetrics.perSide { RelaxedCounter() }
    private let pongTimeoutsBySide = WorkerMetrics.perSide { RelaxedCounter() }
    private let deadConnectionsBySide = WorkerMetrics.perSide { RelaxedCounter() }
    private let slowConnectionsBySide = WorkerMetrics.perSide { RelaxedGauge() }
    private let lastPongBySide = WorkerMetrics.perSide { RelaxedDoubleGauge() }
    private let pongRTTBySide = WorkerMetrics.perSide { RelaxedHistogram(buckets: WorkerMetrics.pongRTTBuckets) }
    private let rotationsByReason = RotationReason.allCases.map { _ in RelaxedCounter() }
    private let messagesByDirection = MetricDirection.allCases.map { _ in RelaxedCounter() }
    private let bytesByDirection = MetricDirection.allCases.map { _ in RelaxedCounter() }
    private let rejectedInputsBySide = WorkerMetrics.perSide { RejectedInput.allCases.map { _ in RelaxedCounter() } }

    let protocolErrors = RareLabelCounters<ProtocolErrorKey>()
    let handshakeFailures = RareLabelCounters<Int>()
    let connectFailures = RareLabelCounters<String>(maxKeys: WorkerMetrics.maxConnectFailureReasons, overflowKey: "other")

    public init() {}

    /// `lifeline_pings_sent_total{side}`.
    public func pingsSent(_ side: MetricSide) -> RelaxedCounter { pingsSentBySide[side.rawValue] }
    /// `lifeline_pongs_received_total{side}`.
    public func pongsReceived(_ side: MetricSide) -> RelaxedCounter { pongsReceivedBySide[side.rawValue] }
    /// `lifeline_pong_timeouts_total{side}`.
    public func pongTimeouts(_ side: MetricSide) -> RelaxedCounter { pongTimeoutsBySide[side.rawValue] }
    /// `lifeline_dead_connections_total{side}`.
    public func deadConnections(_ side: MetricSide) -> RelaxedCounter { deadConnectionsBySide[side.rawValue] }
    /// `lifeline_slow_connections{side}`.
    public func slowConnections(_ side: MetricSide) -> RelaxedGauge { slowConnectionsBySide[side.rawValue] }
    /// `lifeline_last_pong_timestamp_seconds{side}`: wall-clock seconds; the maximum over workers is exported.
    public func lastPongTimestamp(_ side: MetricSide) -> RelaxedDoubleGauge { lastPongBySide[side.rawValue] }
    /// `lifeline_pong_rtt_seconds{side}`.
    public func pongRTT(_ side: MetricSide) -> RelaxedHistogram { pongRTTBySide[side.rawValue] }
    /// `lifeline_upstream_rotations_total{reason}`.
    public func rotations(_ reason: RotationReason) -> RelaxedCounter { rotationsByReason[reason.index] }
    /// `lifeline_messages_total{direction}`.
    public func messages(_ direction: MetricDirection) -> RelaxedCounter { messagesByDirection[direction.rawValue] }
    /// `lifeline_bytes_total{direction}`.
    public func bytes(_ direction: MetricDirection) -> RelaxedCounter { bytesByDirection[direction.rawValue] }

    /// `lifeline_rejected_inputs_total{side, reason}`: handshake input refused (SECURITY.md, "Hostile input").
    public func rejectedInputs(_ side: MetricSide, _ reason: RejectedInput) -> RelaxedCounter {
        rejectedInputsBySide[side.rawValue][reason.rawValue]
    }

    /// Counts one `lifeline_protocol_errors_total{side, code}` (the close code sent for it).
    public func protocolError(side: MetricSide, code: UInt16) {
        protocolErrors.add(ProtocolErrorKey(side: side, code: code))
    }

    /// Counts one `lifeline_handshake_failures_total{status}` (the HTTP status of the failure).
    public func handshakeFailure(status: Int) { handshakeFailures.add(status) }

    /// Counts one `lifeline_upstream_connect_failures_total{reason}`. Pass a short fixed word
    /// (`refused`, `timeout`, …); past 32 distinct reasons, new ones count as `other`.
    public func connectFailure(reason: String) { connectFailures.add(reason) }

    private static func perSide<T>(_ make: () -> T) -> [T] { MetricSide.allCases.map { _ in make() } }
}
