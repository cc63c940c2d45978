/// `upstream.reconnect`: exponential backoff with jitter between failed
/// upstream connection attempts (spec §4).
public struct ReconnectSettings: Equatable, Sendable {
    /// Seconds before the first retry.
    public var initialDelaySeconds: Double
    /// Upper bound in seconds on any delay.
    public var maxDelaySeconds: Double
    /// Factor (≥ 1) applied to the delay after each failed attempt.
    public var multiplier: Double
    /// Random spread as a fraction of the delay (0–1; 0.2 = ±20 %).
    public var jitter: Double
    /// Attempts (count) before the session is given up; 0 = unlimited.
    public var maxAttempts: Int

    public init(initialDelaySeconds: Double = 0.1, maxDelaySeconds: Double = 30, multiplier: Double = 2,
                jitter: Double = 0.2, maxAttempts: Int = 0) {
        self.initialDelaySeconds = initialDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.multiplier = multiplier
        self.jitter = jitter
        self.maxAttempts = maxAttempts
    }
}

extension ReconnectSettings {
    static let delayRange = NumberRange(0.001, 3600)
    static let multiplierRange = NumberRange(1, 10)
    static let jitterRange = NumberRange(0, 1)
    static let maxAttemptsRange = NumberRange(0, 1_000_000)

    init(from object: ConfigObject?) throws {
        self.init()
        guard let object else { return }
        initialDelaySeconds = try object.double("initial_delay_seconds", Self.delayRange, default: initialDelaySeconds)
        maxDelaySeconds = try object.double("max_delay_seconds", Self.delayRange, default: maxDelaySeconds)
        multiplier = try object.double("multiplier", Self.multiplierRange, default: multiplier)
        jitter = try object.double("jitter", Self.jitterRange, default: jitter)
        maxAttempts = try object.int("max_attempts", Self.maxAttemptsRange, default: maxAttempts)
    }

    var json: JSONValue {
        .object([("initial_delay_seconds", .number(initialDelaySeconds)), ("max_delay_seconds", .number(maxDelaySeconds)),
                 ("multiplier", .number(multiplier)), ("jitter", .number(jitter)), ("max_attempts", .number(maxAttempts))])
    }
}
