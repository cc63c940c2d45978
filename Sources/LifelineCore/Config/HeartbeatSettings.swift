/// Ping/pong policy of one side (downstream or upstream): when Lifeline pings,
/// how long a pong may take, and how many misses make the connection slow or dead.
public struct HeartbeatSettings: Equatable, Sendable {
    /// Seconds from one ping to the next; 0 = no pings.
    public var pingIntervalSeconds: Double
    /// Seconds a ping waits for its pong before it counts as missed.
    public var pongTimeoutSeconds: Double
    /// Consecutive missed pongs (count) that make the connection slow.
    public var slowAfterMissedPongs: Int
    /// Consecutive missed pongs (count) that make the connection dead.
    public var maxMissedPongs: Int

    public init(pingIntervalSeconds: Double, pongTimeoutSeconds: Double = 10,
                slowAfterMissedPongs: Int, maxMissedPongs: Int) {
        self.pingIntervalSeconds = pingIntervalSeconds
        self.pongTimeoutSeconds = pongTimeoutSeconds
        self.slowAfterMissedPongs = slowAfterMissedPongs
        self.maxMissedPongs = maxMissedPongs
    }

    /// Downstream defaults: ping every 30 s, 10 s pong timeout, slow after 2, dead after 3.
    public static let downstreamDefault = HeartbeatSettings(pingIntervalSeconds: 30, slowAfterMissedPongs: 2, maxMissedPongs: 3)
    /// Upstream defaults: ping every 180 s, 10 s pong timeout, slow after 1, dead after 2.
    public static let upstreamDefault = HeartbeatSettings(pingIntervalSeconds: 180, slowAfterMissedPongs: 1, maxMissedPongs: 2)

    /// Whether pings are sent at all.
    public var pingsEnabled: Bool { pingIntervalSeconds > 0 }
}

extension HeartbeatSettings {
    static let pingIntervalRange = NumberRange(0.1, 86400, zeroMeans: "off")
    static let pongTimeoutRange = NumberRange(0.05, 3600)
    static let missedPongsRange = NumberRange(1, 1000)

    /// Reads the four heartbeat keys of a `downstream` / `upstream` object and
    /// checks pong timeout ≤ ping interval (when pinging) and slow ≤ dead.
    init(from object: ConfigObject?, defaults: HeartbeatSettings) throws {
        self = defaults
        guard let object else { return }
        pingIntervalSeconds = try object.double("ping_interval_seconds", Self.pingIntervalRange, default: defaults.pingIntervalSeconds)
        pongTimeoutSeconds = try object.double("pong_timeout_seconds", Self.pongTimeoutRange, default: defaults.pongTimeoutSeconds)
        slowAfterMissedPongs = try object.int("slow_after_missed_pongs", Self.missedPongsRange, default: defaults.slowAfterMissedPongs)
        maxMissedPongs = try object.int("max_missed_pongs", Self.missedPongsRange, default: defaults.maxMissedPongs)
        if pingsEnabled, pongTimeoutSeconds > pingIntervalSeconds {
            throw ConfigError.invalid(object.path("pong_timeout_seconds"), .number(pongTimeoutSeconds),
                                      "must be at most \(object.path("ping_interval_seconds")) = \(JSONValue.formatNumber(pingIntervalSeconds))")
        }
        if slowAfterMissedPongs > maxMissedPongs {
            throw ConfigError.invalid(object.path("slow_after_missed_pongs"), .number(slowAfterMissedPongs),
                                      "must be at most \(object.path("max_missed_pongs")) = \(maxMissedPongs)")
        }
    }

    /// The four keys as JSON members, in spec order.
    var jsonMembers: [(key: String, value: JSONValue)] {
        [("ping_interval_seconds", .number(pingIntervalSeconds)), ("pong_timeout_seconds", .number(pongTimeoutSeconds)),
         ("slow_after_missed_pongs", .number(slowAfterMissedPongs)), ("max_missed_pongs", .number(maxMissedPongs))]
    }
}
