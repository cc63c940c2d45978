/// Which upstream connections ("generations") a session has and what each is for, over
/// the session's whole life (spec §4): the *current* one app traffic goes to, an *incoming*
/// one being connected for a rotation or a reconnect, an *old* one still delivering after
/// a hand-over until the streams are spliced, and the backoff between failed attempts.
/// At most two connections exist at once. Pure: time and randomness are parameters, and
/// every event returns the actions the runtime must carry out, in order.
public struct UpstreamHandover: Equatable {
    public enum Reason: String, Equatable, Sendable {
        case lifetime
        case serverNotice = "server_notice"
        case pongTimeout = "pong_timeout"
        case upstreamClose = "upstream_close"
        case upstreamError = "upstream_error"
    }

    /// The generation app→upstream traffic goes to; nil while reconnecting.
    public private(set) var current: Int?
    /// A generation being connected (rotation or reconnect attempt).
    public private(set) var incoming: Int?
    /// The previous generation, still delivering after a hand-over until spliced (also while
    /// reconnecting, when the generation it handed over to died during the overlap).
    public private(set) var draining: Int?
    public private(set) var drainDeadline: Double?
    /// When the next connect attempt is due (backoff), if one is scheduled.
    public private(set) var retryAt: Double?
    /// Failed attempts of the replacement in progress.
    public private(set) var attempt = 0
    /// Why the replacement in progress started.
    public private(set) var reason: Reason?
    /// A rotation asked for while an old generation was still draining: started when it is gone.
    public private(set) var deferredRotation: Reason?
    public private(set) var isClosed = false

    private let backoff: Backoff
    private let drainTimeout: Double
    private var lastGeneration: Int

    /// A session whose first upstream connection (`generation` 1) has just opened.
    /// - Parameter drainTimeout: the longest an old connection keeps delivering after a hand-over.
    public init(reconnect: ReconnectSettings, drainTimeout: Double) {
        backoff = Backoff(settings: reconnect)
        self.drainTimeout = drainTimeout
        lastGeneration = 1
        current = 1
    }

    /// A rotation (lifetime reached, or a server notice): a new connection while the current
    /// one keeps serving. Ignored while another replacement is in progress or the session is
    /// reconnecting; deferred while an old connection is still draining.
    public mutating func rotate(_ why: Reason, now: Double) -> [HandoverAction] {
        guard !isClosed, current != nil, incoming == nil, retryAt == nil else { return [] }
        if draining != nil {
            if deferredRotation == nil { deferredRotation = why }
            return []
        }
        reason = why
        attempt = 0
        return [.rotationTriggered(why), .connect(generation: newGeneration())]
    }

    /// `generation` completed its upgrade handshake.
    public mutating func connected(_ generation: Int, now: Double) -> [HandoverAction] {
        guard !isClosed, generation == incoming else { return [] }
        incoming = nil
        let why = reason ?? .upstreamError
        reason = nil
        attempt = 0
        // A reconnect while an old connection still drains (the one it was handing over to
        // died) hands over from that old one, so the streams are spliced again.
        let previous = current ?? draining
        current = generation
        guard let previous else {
            return [.handOver(to: generation, from: nil), .rotated(why)]
        }
        draining = previous
        drainDeadline = now + drainTimeout
        return [.handOver(to: generation, from: previous), .rotated(why)]
    }

    /// `generation` failed: could not connect, timed out, refused the handshake with an HTTP
    /// status (`refusedStatus`), or — when it is the current one — died, closed or errored.
    /// `random` in [0, 1) picks the backoff jitter.
    public mutating func failed(_ generation: Int, reason why: Reason, refusedStatus: Int? = nil,
                                now: Double, random: Double) -> [HandoverAction] {
        guard !isClosed else { return [] }
        if generation == draining {
            draining = nil
            drainDeadline = nil
            return [.drop(generation: generation)] + startDeferredRotation(now: now)
        }
        if generation == current {
            current = nil
            // The connection it was handing over to died: the old one keeps delivering
            // (no deadline) until the reconnect hands over from it, or it dies too.
            if draining != nil { drainDeadline = nil }
            if incoming != nil || retryAt != nil { return [.drop(generation: generation)] }
            reason = why
            attempt = 0
            return [.drop(generation: generation)] + scheduleAttempt(now: now, random: random)
        }
        guard generation == incoming else { return [] }
        incoming = nil
        if let refusedStatus, current == nil {
            isClosed = true
            return [.drop(generation: generation), .giveUp(refusedStatus: refusedStatus)]
        }
        return [.drop(generation: generation)] + scheduleAttempt(now: now, random: random)
    }

    /// The backoff delay has passed: the next attempt starts.
    public mutating func retryDue(now: Double) -> [HandoverAction] {
        guard !isClosed, let retryAt, now >= retryAt else { return [] }
        self.retryAt = nil
        return [.connect(generation: newGeneration())]
    }

    /// The old generation's stream has been spliced (or gave out): it is closed.
    public mutating func drainFinished(_ generation: Int, now: Double) -> [HandoverAction] {
        guard !isClosed, generation == draining else { return [] }
        draining = nil
        drainDeadline = nil
        return [.closeDrained(generation: generation)] + startDeferredRotation(now: now)
    }

    /// Moves the drain deadline later (the new connection has not delivered anything yet,
    /// so there is nothing to splice with and the old one must keep delivering).
    public mutating func extendDrain(until deadline: Double) {
        guard !isClosed, draining != nil, let current = drainDeadline, deadline > current else { return }
        drainDeadline = deadline
    }

    /// Called when `drainDeadline` has passed: the streams never aligned, so the held
    /// messages of the current generation are released and the old one is closed.
    public mutating func drainTimedOut(now: Double) -> [HandoverAction] {
        guard !isClosed, let old = draining, let deadline = drainDeadline, now >= deadline else { return [] }
        draining = nil
        drainDeadline = nil
        return [.forceSplice(old: old), .closeDrained(generation: old)] + startDeferredRotation(now: now)
    }

    /// The app's side ended: nothing more is connected or retried.
    public mutating func sessionEnded() -> [HandoverAction] {
        guard !isClosed else { return [] }
        isClosed = true
        retryAt = nil
        var actions: [HandoverAction] = []
        if let incoming { actions.append(.drop(generation: incoming)) }
        if let draining { actions.append(.closeDrained(generation: draining)) }
        incoming = nil
        draining = nil
        drainDeadline = nil
        return actions
    }

    /// The earliest time the runtime must call back (`retryDue` or `drainTimedOut`).
    public var nextDeadline: Double? {
        switch (retryAt, drainDeadline) {
        case let (retry?, drain?): return min(retry, drain)
        case let (retry?, nil): return retry
        case let (nil, drain?): return drain
        case (nil, nil): return nil
        }
    }

    private mutating func newGeneration() -> Int {
        lastGeneration += 1
        incoming = lastGeneration
        return lastGeneration
    }

    private mutating func scheduleAttempt(now: Double, random: Double) -> [HandoverAction] {
        attempt += 1
        guard backoff.allows(attempt: attempt) else {
            let rotating = current != nil
            reason = nil
            if rotating { return [.rotationAbandoned] }
            isClosed = true
            return [.giveUp(refusedStatus: nil)]
        }
        let delay = backoff.delay(attempt: attempt, random: random)
        retryAt = now + delay
        return [.scheduleRetry(at: now + delay, delay: delay, attempt: attempt, reason: reason ?? .upstreamError)]
    }

    private mutating func startDeferredRotation(now: Double) -> [HandoverAction] {
        guard let deferred = deferredRotation else { return [] }
        deferredRotation = nil
        return rotate(deferred, now: now)
    }
}

/// What the runtime does for an `UpstreamHandover` event, in order.
public enum HandoverAction: Equatable, Sendable {
    /// Open a new upstream connection: same request, fresh DNS.
    case connect(generation: Int)
    /// Replay the remembered messages on `to`, then send app→upstream traffic (and anything
    /// queued while reconnecting) there; `from`, if any, keeps delivering while it drains.
    case handOver(to: Int, from: Int?)
    /// Close a drained generation with 1000 "rotation".
    case closeDrained(generation: Int)
    /// The drain deadline passed before the streams aligned: release what the current
    /// generation holds and relay it directly from now on.
    case forceSplice(old: Int)
    /// Close a generation that failed or died, without a close handshake.
    case drop(generation: Int)
    /// The next attempt is due at `at` (backoff `delay` seconds after now).
    case scheduleRetry(at: Double, delay: Double, attempt: Int, reason: UpstreamHandover.Reason)
    /// Give up: close the app with 1011 (naming the upstream's refusal status, if any).
    case giveUp(refusedStatus: Int?)
    /// A rotation ran out of attempts; the current connection keeps serving.
    case rotationAbandoned
    case rotationTriggered(UpstreamHandover.Reason)
    /// A replacement completed (counted in lifeline_upstream_rotations_total{reason}).
    case rotated(UpstreamHandover.Reason)
}
