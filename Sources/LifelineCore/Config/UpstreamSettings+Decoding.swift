extension UpstreamSettings {
    static let connectTimeoutRange = NumberRange(0.1, 3600)
    static let maxLifetimeRange = NumberRange(1, 2_592_000, zeroMeans: "never")
    static let rotationJitterRange = NumberRange(0, 2_592_000)
    static let dedupeWindowRange = NumberRange(1, 1_000_000, zeroMeans: "off")

    /// Reads and validates the `upstream` object; `upstream.url` is required.
    /// Jitter ≤ lifetime is only checked when rotation is on (lifetime > 0).
    init(from object: ConfigObject?) throws {
        guard let object, let urlText = try object.string("url", expected: "a ws:// or wss:// URL") else {
            throw ConfigError.missing("upstream.url")
        }
        self.init(url: try UpstreamURL(parsing: urlText, path: object.path("url")))
        connectTimeoutSeconds = try object.double("connect_timeout_seconds", Self.connectTimeoutRange, default: connectTimeoutSeconds)
        heartbeat = try HeartbeatSettings(from: object, defaults: .upstreamDefault)
        maxLifetimeSeconds = try object.double("max_lifetime_seconds", Self.maxLifetimeRange, default: maxLifetimeSeconds)
        rotationJitterSeconds = try object.double("rotation_jitter_seconds", Self.rotationJitterRange, default: rotationJitterSeconds)
        if maxLifetimeSeconds > 0, rotationJitterSeconds > maxLifetimeSeconds {
            throw ConfigError.invalid(object.path("rotation_jitter_seconds"), .number(rotationJitterSeconds),
                                      "must be at most upstream.max_lifetime_seconds = \(JSONValue.formatNumber(maxLifetimeSeconds))")
        }
        rotateOnMatch = try object.regex("rotate_on_match")
        onClose = try object.choice("on_close", default: onClose)
        reconnect = try ReconnectSettings(from: object.object("reconnect"))
        replay = try ReplaySettings(from: object.object("replay"))
        dedupeWindow = try object.int("dedupe_window", Self.dedupeWindowRange, default: dedupeWindow)
        headers = try HeaderField.list(from: object.raw("headers"), path: object.path("headers"))
        tls = try UpstreamTLSSettings(from: object.object("tls"))
    }

    var json: JSONValue {
        .object([("url", .string(url.original)), ("connect_timeout_seconds", .number(connectTimeoutSeconds))]
            + heartbeat.jsonMembers + [
                ("max_lifetime_seconds", .number(maxLifetimeSeconds)),
                ("rotation_jitter_seconds", .number(rotationJitterSeconds)),
                ("rotate_on_match", rotateOnMatch.map(JSONValue.string) ?? .null),
                ("on_close", .string(onClose.rawValue)),
                ("reconnect", reconnect.json),
                ("replay", replay.json),
                ("dedupe_window", .number(dedupeWindow)),
                ("headers", .object(headers.map { ($0.name, JSONValue.string($0.value)) })),
                ("tls", tls.json),
            ])
    }
}
