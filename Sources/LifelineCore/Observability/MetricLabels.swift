/// The `side` label: which socket of a session a metric is about. Owns the label's
/// fixed value set; `rawValue` indexes per-side arrays.
public enum MetricSide: Int, CaseIterable, Sendable {
    case downstream, upstream

    /// The label value as exported.
    public var label: String {
        switch self {
        case .downstream: return "downstream"
        case .upstream: return "upstream"
        }
    }
}

/// The `direction` label of message and byte counts: `up` is app → upstream, `down` is
/// upstream → app. Owns the label's fixed value set; `rawValue` indexes per-direction arrays.
public enum MetricDirection: Int, CaseIterable, Sendable {
    case up, down

    /// The label value as exported.
    public var label: String {
        switch self {
        case .up: return "up"
        case .down: return "down"
        }
    }
}

/// The `reason` label of `lifeline_upstream_rotations_total`: why an upstream connection
/// was replaced. Owns the fixed value set (every value is exported, zero or not).
public enum RotationReason: String, CaseIterable, Sendable {
    case lifetime, server_notice, pong_timeout, upstream_close, upstream_error

    /// Position in `allCases`, for per-reason arrays.
    var index: Int {
        switch self {
        case .lifetime: return 0
        case .server_notice: return 1
        case .pong_timeout: return 2
        case .upstream_close: return 3
        case .upstream_error: return 4
        }
    }

    /// The label value as exported.
    public var label: String { rawValue }
}
