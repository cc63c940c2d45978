/// Owns the rate limit of one repeating warning: the first occurrence is logged at
/// once, later ones are counted and folded into the next line due after `interval`
/// seconds. `now` is passed in, so tests drive it without a clock.
struct LogThrottle {
    let interval: Double
    private var lastLoggedAt = -Double.infinity
    private var unreported = 0

    init(interval: Double) { self.interval = interval }

    /// Records one occurrence. Returns how many occurrences the line written now
    /// stands for (this one plus those held back since the previous line), or nil
    /// when no line is due yet.
    mutating func record(now: Double) -> Int? {
        unreported += 1
        guard now - lastLoggedAt >= interval else { return nil }
        lastLoggedAt = now
        defer { unreported = 0 }
        return unreported
    }
}
