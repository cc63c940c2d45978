/// The `downstream` section: how Lifeline serves the application's
/// connections (heartbeat, handshake deadline, connection cap, optional TLS).
public struct DownstreamSettings: Equatable, Sendable {
    /// Pings towards the application (defaults: 30 s / 10 s / 2 / 3).
    public var heartbeat: HeartbeatSettings
    /// Seconds within which the whole HTTP upgrade must arrive, else 408.
    public var handshakeTimeoutSeconds: Double
    /// Maximum concurrent sessions (count); above it new clients get 503.
    public var maxConnections: Int
    /// TLS termination towards the application; nil = plain ws://.
    public var tls: DownstreamTLSSettings?

    public init(heartbeat: HeartbeatSettings = .downstreamDefault, handshakeTimeoutSeconds: Double = 10,
                maxConnections: Int = 10000, tls: DownstreamTLSSettings? = nil) {
        self.heartbeat = heartbeat
        self.handshakeTimeoutSeconds = handshakeTimeoutSeconds
        self.maxConnections = maxConnections
        self.tls = tls
    }
}

extension DownstreamSettings {
    static let handshakeTimeoutRange = NumberRange(0.1, 3600)
    static let maxConnectionsRange = NumberRange(1, 10_000_000)

    init(from object: ConfigObject?) throws {
        self.init()
        guard let object else { return }
        heartbeat = try HeartbeatSettings(from: object, defaults: .downstreamDefault)
        handshakeTimeoutSeconds = try object.double("handshake_timeout_seconds", Self.handshakeTimeoutRange, default: handshakeTimeoutSeconds)
        maxConnections = try object.int("max_connections", Self.maxConnectionsRange, default: maxConnections)
        tls = try object.object("tls", nullable: true).map(DownstreamTLSSettings.init(from:))
    }

    var json: JSONValue {
        .object(heartbeat.jsonMembers + [
            ("handshake_timeout_seconds", .number(handshakeTimeoutSeconds)),
            ("max_connections", .number(maxConnections)),
            ("tls", tls?.json ?? .null),
        ])
    }
}
