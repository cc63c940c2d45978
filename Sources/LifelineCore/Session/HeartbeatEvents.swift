/// What one `Heartbeat.advance(now:)` call asks the caller to do or report.
/// At most one ping and at most one miss per call; a transition is reported in
/// exactly one call over the heartbeat's life.
public struct HeartbeatEvents: Equatable, Sendable {
    /// Send a ping now whose 8-byte payload is this token, big-endian
    /// (`Heartbeat.encodePayload`). Nil: no ping this time.
    public var pingToken: UInt64?
    /// Pings that became missed in this call (count, 0 or 1): one
    /// `lifeline_pong_timeouts_total` increment each.
    public var missed: Int
    /// The heartbeat went ok → slow in this call: log `*.slow_connection` once,
    /// raise `lifeline_slow_connections`.
    public var becameSlow: Bool
    /// The heartbeat went to dead in this call: close (downstream) or replace
    /// (upstream) the connection. Reported together with `becameSlow` when one
    /// miss crosses both thresholds.
    public var becameDead: Bool

    public init(pingToken: UInt64? = nil, missed: Int = 0, becameSlow: Bool = false, becameDead: Bool = false) {
        self.pingToken = pingToken
        self.missed = missed
        self.becameSlow = becameSlow
        self.becameDead = becameDead
    }

    /// Nothing to do.
    public static let none = HeartbeatEvents()
}
