/// What `Heartbeat.pongReceived(_:now:)` made of a pong.
public enum PongOutcome: Equatable, Sendable {
    /// The pong echoed the newest ping: `rtt` seconds after it was sent.
    /// `recovered`: the connection was slow and is ok again (log it, lower
    /// `lifeline_slow_connections`).
    case answered(rtt: Double, recovered: Bool)
    /// The pong changed nothing (spec §3: unsolicited pongs are accepted and ignored).
    case ignored(IgnoredPong)
}

/// Why a pong was ignored.
public enum IgnoredPong: Equatable, Sendable {
    /// No ping was ever sent, or the payload is not one of ours (other bytes, not 8 bytes).
    case unsolicited
    /// It echoes an older ping than the newest one.
    case stale
    /// The newest ping was already answered.
    case duplicate
    /// The heartbeat is dead; nothing revives it.
    case dead
}
