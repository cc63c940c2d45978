/// When an upstream connection is due for scheduled rotation (spec
/// `upstream.max_lifetime_seconds` and `rotation_jitter_seconds`): an age drawn
/// once per connection, so that sessions opened together do not all rotate at
/// the same moment. Owns nothing; the caller supplies the randomness and arms
/// a timer at connect time + the returned age.
public enum RotationSchedule {
    /// The age in seconds at which a new connection rotates, in
    /// [maxLifetime − jitter, maxLifetime] (`random` in [0, 1): 0 → the low end,
    /// 1 → maxLifetime); nil when `maxLifetime` is 0 (never rotate). `jitter` is
    /// clamped to [0, maxLifetime], as config validation already demands, so the
    /// age is never negative (0 only with jitter = maxLifetime and random = 0).
    public static func lifetime(maxLifetime: Double, jitter: Double, random: Double) -> Double? {
        guard maxLifetime > 0 else { return nil }
        let spread = min(max(jitter, 0), maxLifetime)
        let fraction = min(max(random, 0), 1)
        return min(maxLifetime - spread + spread * fraction, maxLifetime)
    }
}
