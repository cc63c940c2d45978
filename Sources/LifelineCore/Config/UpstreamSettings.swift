/// What an upstream-initiated close does to the session (spec §3).
public enum OnClose: String, CaseIterable, Sendable {
    /// Replace the upstream connection; the app stays connected (except close code 1008).
    case reconnect
    /// Relay the close to the app.
    case propagate
}

/// The `upstream` section: where Lifeline connects and how it keeps, rotates,
/// replaces and authenticates that connection.
public struct UpstreamSettings: Equatable, Sendable {
    /// Base address of the real server (required).
    public var url: UpstreamURL
    /// Seconds allowed for TCP + TLS + upgrade.
    public var connectTimeoutSeconds: Double
    /// Pings towards the server (defaults: 180 s / 10 s / 1 / 2).
    public var heartbeat: HeartbeatSettings
    /// Seconds of age after which a connection is rotated; 0 = never.
    public var maxLifetimeSeconds: Double
    /// Seconds of spread: rotation happens at a random age in [lifetime − jitter, lifetime].
    public var rotationJitterSeconds: Double
    /// Regular expression; an upstream text message matching it starts a rotation. nil = off.
    public var rotateOnMatch: String?
    /// What an upstream-initiated close does.
    public var onClose: OnClose
    /// Backoff between failed connection attempts.
    public var reconnect: ReconnectSettings
    /// What is re-sent on a new upstream connection.
    public var replay: ReplaySettings
    /// Messages (count) remembered for de-duplication during a hand-over; 0 = off.
    public var dedupeWindow: Int
    /// Extra request headers, sorted by name.
    public var headers: [HeaderField]
    /// Server verification for wss://.
    public var tls: UpstreamTLSSettings

    public init(url: UpstreamURL, connectTimeoutSeconds: Double = 10, heartbeat: HeartbeatSettings = .upstreamDefault,
                maxLifetimeSeconds: Double = 14400, rotationJitterSeconds: Double = 60, rotateOnMatch: String? = nil,
                onClose: OnClose = .reconnect, reconnect: ReconnectSettings = ReconnectSettings(),
                replay: ReplaySettings = ReplaySettings(), dedupeWindow: Int = 4096, headers: [HeaderField] = [],
                tls: UpstreamTLSSettings = UpstreamTLSSettings()) {
        self.url = url
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.heartbeat = heartbeat
        self.maxLifetimeSeconds = maxLifetimeSeconds
        self.rotationJitterSeconds = rotationJitterSeconds
        self.rotateOnMatch = rotateOnMatch
        self.onClose = onClose
        self.reconnect = reconnect
        self.replay = replay
        self.dedupeWindow = dedupeWindow
        self.headers = headers
        self.tls = tls
    }
}
