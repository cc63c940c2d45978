/// The ping/pong state of one side of a session (spec §3 "Pings and pongs"):
/// when to ping, which pong answers which ping, and when the peer is slow or dead.
///
/// A pure value in the style of a protocol state machine: every method takes the
/// current time as `now` (seconds on any monotonic clock, e.g. libev's `ev_now`)
/// and returns what the caller must do; nothing here reads a clock, does I/O or
/// allocates. The caller sends the pings, arms one timer at `nextDeadline` and
/// calls `advance(now:)` when it fires; tests drive it with plain numbers.
///
/// Rules beyond the spec text:
/// - Schedule. The first ping is due one interval after `init` (or after pings
///   are turned on by `reconfigure`), each next one interval after the previous
///   ping was actually sent (the spec's "this long after the previous one"). An
///   `advance` that comes late sends one ping at once and restarts the schedule
///   from it: no catch-up burst, and no drift when called on time.
/// - Order. The newest ping's miss is decided at `sentAt + pongTimeout`, which is
///   never after the next ping (the timeout is clamped to the interval, as config
///   validation already demands), and on a tie the miss comes first. So every
///   ping is answered or missed before the next one is sent, and one `advance`
///   yields at most one miss and one ping.
/// - A late pong (after its miss) still answers: RTT recorded, misses reset, slow
///   cleared; the miss already counted stays counted.
/// - Dead is final: no pings, no deadlines, every pong ignored.
public struct Heartbeat: Equatable, Sendable {
    /// ok → slow → dead; slow → ok again on an answered ping; dead is final.
    public enum Health: String, Equatable, Sendable {
        case ok, slow, dead
    }

    /// Bytes in a Lifeline ping payload.
    public static let payloadLength = 8

    /// The settings in force (the latest `reconfigure`).
    public private(set) var settings: HeartbeatSettings
    public private(set) var health: Health = .ok
    /// Pings missed in a row since the last answered one (count).
    public private(set) var consecutiveMisses = 0
    /// Round-trip time of the last answered ping, in seconds.
    public private(set) var lastRTT: Double?
    /// The `now` of the last answering pong.
    public private(set) var lastPongAt: Double?
    /// Pings sent so far (count); also the sequence number of the newest ping.
    public private(set) var pingsSent = 0

    /// Per-connection random base of the ping tokens: ping n carries `seed &+ n`.
    private let seed: UInt64
    /// When the next ping is due (meaningful while pinging and not dead).
    private var scheduledPingAt: Double
    /// The last ping's send time, or when pinging started if that is later:
    /// what `reconfigure` measures a new interval from.
    private var anchor: Double
    /// When the newest ping was sent (meaningful when `pingsSent > 0`).
    private var newestSentAt = 0.0
    /// The newest ping has been answered by a pong.
    private var newestAnswered = false
    /// The newest ping is neither answered nor missed and still has a deadline.
    private var awaitingDecision = false
    /// Transitions caused by `reconfigure` (which returns nothing), reported by
    /// the next `advance` and due at `pendingAt`.
    private var pendingSlow = false
    private var pendingDead = false
    private var pendingAt = 0.0
    /// The newest ping's miss is not decided before this (see `postpone(now:)`).
    private var decisionHeldUntil = 0.0

    /// Starts a heartbeat at `now`; the first ping is due one interval later.
    /// `seed` should be random per connection so payloads are not guessable
    /// across connections.
    public init(settings: HeartbeatSettings, now: Double, seed: UInt64) {
        self.settings = settings
        self.seed = seed
        self.anchor = now
        self.scheduledPingAt = now + settings.pingIntervalSeconds
    }

    // MARK: Deadlines

    /// When the next ping is due. Nil: pings are off, or the heartbeat is dead.
    public var nextPingAt: Double? {
        guard settings.pingsEnabled, health != .dead else { return nil }
        return scheduledPingAt
    }

    /// When the newest ping becomes missed unless answered. Nil: no ping is
    /// waiting for that decision (none sent, answered, already missed, pings off, dead).
    public var pongDeadline: Double? {
        guard awaitingDecision, settings.pingsEnabled, health != .dead else { return nil }
        return max(newestSentAt + effectiveTimeout, decisionHeldUntil)
    }

    /// The earliest time `advance(now:)` has something to do: the sooner of
    /// `nextPingAt` and `pongDeadline`, or the time of a `reconfigure` whose
    /// transition is still unreported. Nil: nothing will ever be due on its own.
    public var nextDeadline: Double? {
        var soonest: Double? = (pendingSlow || pendingDead) ? pendingAt : nil
        if let ping = nextPingAt { soonest = soonest.map { min($0, ping) } ?? ping }
        if let pong = pongDeadline { soonest = soonest.map { min($0, pong) } ?? pong }
        return soonest
    }

    // MARK: Time

    /// Does everything due up to `now`, in time order: first a transition left
    /// by `reconfigure`, then the newest ping's miss, then the next ping.
    public mutating func advance(now: Double) -> HeartbeatEvents {
        var events = HeartbeatEvents.none
        if pendingSlow || pendingDead {
            events.becameSlow = pendingSlow
            events.becameDead = pendingDead
            pendingSlow = false
            pendingDead = false
        }
        guard settings.pingsEnabled, health != .dead else { return events }

        if awaitingDecision, now >= max(newestSentAt + effectiveTimeout, decisionHeldUntil) {
            awaitingDecision = false
            consecutiveMisses += 1
            events.missed = 1
            let (slow, dead) = escalate()
            if slow { events.becameSlow = true }
            if dead {
                events.becameDead = true
                return events
            }
        }

        if now >= scheduledPingAt {
            pingsSent += 1
            newestSentAt = now
            newestAnswered = false
            awaitingDecision = true
            decisionHeldUntil = 0
            anchor = now
            scheduledPingAt = now + settings.pingIntervalSeconds
            events.pingToken = seed &+ UInt64(pingsSent)
        }
        return events
    }

    /// The peer's input is not being read (Lifeline paused it for backpressure), so its
    /// pong may be waiting unread: the newest ping's miss is not decided, and no new ping
    /// is sent, before one pong timeout from `now`. Called whenever a deadline comes while
    /// the pause lasts; the ping that was waiting can still be answered afterwards.
    public mutating func postpone(now: Double) {
        guard settings.pingsEnabled, health != .dead else { return }
        let until = now + effectiveTimeout
        if awaitingDecision { decisionHeldUntil = max(decisionHeldUntil, until) }
        scheduledPingAt = max(scheduledPingAt, until)
    }

    // MARK: Pongs

    /// Classifies a pong by its payload. Only a pong echoing the newest ping's
    /// payload changes anything: it records the RTT, resets the misses and
    /// clears the slow state, even when it comes after that ping's deadline.
    public mutating func pongReceived(_ payload: UnsafeRawBufferPointer, now: Double) -> PongOutcome {
        guard health != .dead else { return .ignored(.dead) }
        guard pingsSent > 0, payload.count == Self.payloadLength else { return .ignored(.unsolicited) }
        let token = UInt64(bigEndian: payload.loadUnaligned(as: UInt64.self))
        let sequence = token &- seed
        if sequence == UInt64(pingsSent) {
            if newestAnswered { return .ignored(.duplicate) }
            let rtt = max(0, now - newestSentAt)
            newestAnswered = true
            awaitingDecision = false
            lastRTT = rtt
            lastPongAt = now
            consecutiveMisses = 0
            // A slow state that `reconfigure` set but no `advance` reported yet
            // is dropped silently, so becameSlow/recovered stay paired.
            let recovered = health == .slow && !pendingSlow
            pendingSlow = false
            health = .ok
            return .answered(rtt: rtt, recovered: recovered)
        }
        if sequence >= 1, sequence < UInt64(pingsSent) { return .ignored(.stale) }
        return .ignored(.unsolicited)
    }

    // MARK: Reload

    /// Applies reloaded settings (SIGHUP) at `now`.
    /// - Interval: the next ping is due one new interval after the last ping
    ///   (or after pinging started, if no ping since), or at once if that is
    ///   past. Turning pings on starts pinging at `now`, as `init` does.
    /// - Timeout: an unanswered ping's deadline becomes its send time plus the
    ///   new timeout (possibly due at once).
    /// - Off (interval 0): no more pings or deadlines; the unanswered ping can
    ///   still be answered but is never missed; health and misses stay as they are.
    /// - Thresholds: misses already counted are compared with the new ones; a
    ///   resulting slow/dead transition is reported by the next `advance` (and
    ///   `nextDeadline` becomes `now` for it). A heartbeat is never made healthier
    ///   here: only an answered ping clears slow, and dead stays dead.
    public mutating func reconfigure(_ settings: HeartbeatSettings, now: Double) {
        let wasPinging = self.settings.pingsEnabled
        self.settings = settings
        guard health != .dead else { return }
        guard settings.pingsEnabled else {
            awaitingDecision = false
            return
        }
        if !wasPinging { anchor = now }
        scheduledPingAt = max(anchor + settings.pingIntervalSeconds, now)
        let (slow, dead) = escalate()
        if slow || dead {
            if !pendingSlow { pendingAt = now }
            pendingSlow = pendingSlow || slow
            pendingDead = dead
        }
    }

    // MARK: Payload

    /// Writes `token` as the 8-byte big-endian ping payload at `into`
    /// (`payloadLength` bytes, any alignment).
    public static func encodePayload(_ token: UInt64, into: UnsafeMutableRawPointer) {
        into.storeBytes(of: token.bigEndian, as: UInt64.self)
    }

    // MARK: Private

    /// The pong timeout in force: never longer than the interval, so a ping is
    /// always decided before the next one goes out.
    private var effectiveTimeout: Double {
        min(settings.pongTimeoutSeconds, settings.pingIntervalSeconds)
    }

    /// Moves health up to what `consecutiveMisses` reaches under the current
    /// thresholds (thresholds below 1 count as 1); returns the transitions made.
    private mutating func escalate() -> (slow: Bool, dead: Bool) {
        var slow = false, dead = false
        if health == .ok, consecutiveMisses >= max(1, settings.slowAfterMissedPongs) {
            health = .slow
            slow = true
        }
        if health != .dead, consecutiveMisses >= max(1, settings.maxMissedPongs) {
            health = .dead
            awaitingDecision = false
            dead = true
        }
        return (slow, dead)
    }
}
