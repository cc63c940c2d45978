import CLibev
import Glibc

/// One app connection and the upstream connections serving it over its life: owns the
/// downstream `Connection`, the `UpstreamLeg`s (at most two at once), the app's frame
/// decoder, the replay memory, the hand-over state machine and the session's timer
/// (armed to the earliest of: the handshake deadline, the close deadline, the next
/// reconnect attempt, the end of a drain).
///
/// Life: read the app's upgrade request → connect upstream and send our upgrade → answer
/// the app with upstream's 101 (or its refusal) → relay frames both ways, replacing the
/// upstream connection when it dies, closes or reaches its lifetime (spec §4) → close
/// handshake relayed across → sockets closed → `worker.sessionFinished`.
final class ProxySession {
    enum Phase { case readingRequest, connectingFirst, open, lingering, finished }

    let id: UInt64
    unowned(unsafe) let worker: Worker
    let loop: EventLoop
    let settings: SessionSettings
    let downstream: Connection
    let peer: SocketAddress
    var phase: Phase = .readingRequest
    let openedAt: Double
    var timer: TimerWatcher!

    // Handshake with the app.
    var requestBytes: [UInt8] = []
    var requestParser = UpgradeRequestParser()
    /// The app's request, kept: every upstream connection of the session sends the same one.
    var request: UpgradeRequest?
    /// App bytes that followed the request head (pipelined frames), relayed once open.
    var pipelinedAppBytes: [UInt8] = []

    // Upstream connections.
    var legs: [UpstreamLeg] = []
    var handover: UpstreamHandover?
    /// Where app→upstream traffic goes (the current generation); nil while reconnecting.
    var target: UpstreamLeg?
    /// The generation app traffic moves to once the app's half-sent message is complete.
    var deferredTarget: UpstreamLeg?
    var replay: ReplayMemory
    /// App frames waiting for an upstream connection (while reconnecting), bounded.
    var pending = PendingFrames()
    /// Fragments of an app message whose start went to a connection that is gone: dropped.
    var discardingAppMessage = false
    var appDestination = AppFrameDestination.discard
    /// An app frame's header was read but not all its payload.
    var appFrameOpen = false
    var appMessage = MessageAssembly()
    var appMessageTooLargeToRemember = false

    // Splicing two upstream streams during a hand-over.
    var splice: StreamSplice?
    unowned(unsafe) var spliceOld: UpstreamLeg?
    unowned(unsafe) var spliceNew: UpstreamLeg?
    /// The new connection's whole messages waiting for the old one to reach a message boundary.
    var spliceQueue: [HeldMessage] = []
    /// Messages the splice holds because the new connection is ahead of the old one.
    var spliceHeld: [HeldMessage] = []
    var spliceBytes = 0
    /// A forced end of the splice waits for the old connection's message to end.
    var spliceForcePending = false
    /// The new connection has delivered a message since the hand-over.
    var spliceNewDelivered = false
    var drainStartedAt = 0.0
    /// While the new connection is silent, the drain is extended up to this many pong timeouts.
    static let longestSilentDrain = 4.0

    // Relay.
    var fromApp: FrameDecoder
    /// Control frames met in the read being processed (see `relay(from:)`).
    var controlFramesInRead = 0
    var appPausedForBackpressure = false
    var upstreamPausedForBackpressure = false
    /// A frame's header went to the app but not all its payload: no other frame may follow yet.
    var frameOpenTowardApp = false

    // Close.
    var closing = CloseHandshake()
    var appClosePayload: [UInt8] = []
    var upstreamClosePayload: [UInt8] = []
    var closeDeadline = Double.infinity
    var appWriteShutDown = false
    var endCode: UInt16?
    var endReason = ""
    var lingerDeadline = Double.infinity

    // Figures.
    var relayOpenedAt: Double?
    var rotations = 0
    var messagesUp = 0
    var messagesDown = 0

    init(id: UInt64, fd: Int32, peer: SocketAddress, worker: Worker) {
        self.id = id
        self.worker = worker
        self.loop = worker.loop
        self.settings = worker.settings
        self.peer = peer
        self.openedAt = worker.loop.now
        downstream = Connection(fd: fd, role: .downstream, loop: worker.loop, tls: worker.tls.downstream)
        fromApp = FrameDecoder(role: .server, maxMessageBytes: worker.settings.maxMessageBytes)
        replay = ReplayMemory(settings: worker.settings.replay, matcher: worker.settings.replayMatcher)
        downstream.session = self
        timer = TimerWatcher(owner: self, callback: sessionTimerCallback)
    }

    deinit {
        timer.free(loop: loop.raw)
    }

    func start() {
        downstream.setReading(true)
        rearmTimer()
    }

    /// The upstream connection app traffic goes to, if any.
    var upstream: Connection? { target?.connection }

    func leg(of connection: Connection) -> UpstreamLeg? {
        legs.first { $0.connection === connection }
    }

    func leg(generation: Int) -> UpstreamLeg? {
        legs.first { $0.generation == generation }
    }

    // MARK: Connection events

    func connectionReadable(_ connection: Connection) {
        if connection === downstream {
            switch phase {
            case .readingRequest: readRequest()
            case .open: relay(from: connection, leg: nil)
            case .lingering: discardInput(connection)
            case .connectingFirst, .finished: connection.setReading(false)
            }
            return
        }
        guard let leg = leg(of: connection) else { return connection.setReading(false) }
        switch leg.phase {
        case .awaitingResponse: readResponse(leg)
        case .open, .closing: relay(from: connection, leg: leg)
        default: connection.setReading(false)
        }
    }

    func connectionDidWrite(_ connection: Connection, outcome: WriteOutcome) {
        if case .failed = outcome {
            connectionLost(connection)
            return
        }
        afterWrite(connection, outcome: outcome)
    }

    func upstreamConnectFinished(_ connection: Connection, error: Int32) {
        guard let leg = leg(of: connection), leg.phase == .connecting else { return }
        if error != 0 {
            connectAttemptFailed(leg, SocketError(operation: "connect", code: error))
        } else {
            sendUpstreamRequest(leg)
        }
    }

    // MARK: Timers

    /// Arms the session timer to its earliest deadline.
    func rearmTimer() {
        var deadline = closeDeadline
        if phase == .readingRequest { deadline = min(deadline, openedAt + settings.handshakeTimeout) }
        if phase == .lingering { deadline = min(deadline, lingerDeadline) }
        if let next = handover?.nextDeadline { deadline = min(deadline, next) }
        if deadline.isFinite {
            timer.arm(after: deadline - loop.now, loop: loop.raw)
        } else {
            timer.disarm(loop: loop.raw)
        }
    }

    fileprivate func timerFired() {
        let now = loop.now
        switch phase {
        case .readingRequest where now >= openedAt + settings.handshakeTimeout:
            let rejection = HTTPRejection(status: 408, reason: "the upgrade request did not arrive within \(settings.handshakeTimeout) s",
                                          input: .requestTimeout)
            reject(rejection)
            return
        case .lingering where now >= lingerDeadline:
            closeEverything()
            return
        default:
            break
        }
        if now >= closeDeadline {
            Logger.shared.debug("session.close_timeout", ["session": .int(Int(id))])
            closeEverything()
            return
        }
        if var handover, phase == .open {
            var actions = handover.retryDue(now: now)
            if let deadline = handover.drainDeadline, now >= deadline, spliceNew != nil, !spliceNewDelivered,
               now - drainStartedAt < ProxySession.longestSilentDrain * settings.drainTimeout {
                // The new connection has delivered nothing yet (a slow subscribe, a loaded
                // upstream): cutting the old one now would lose what only it has delivered.
                handover.extendDrain(until: now + settings.drainTimeout)
            } else {
                actions += handover.drainTimedOut(now: now)
            }
            self.handover = handover
            perform(actions)
        }
        rearmTimer()
    }

    // MARK: Ending

    /// Closes every socket now and finishes the session.
    func closeEverything() {
        for leg in legs { leg.close() }
        downstream.close()
        finish()
    }

    /// Finishes once the app's socket and every upstream socket are closed.
    func finishIfAllClosed() {
        if downstream.isClosed && legs.allSatisfy({ $0.connection?.isClosed ?? true }) { finish() }
    }

    private func finish() {
        guard phase != .finished else { return }
        let wasOpen = relayOpenedAt != nil
        phase = .finished
        timer.disarm(loop: loop.raw)
        retireHeartbeat(downstream)
        for leg in legs {
            retire(leg)
            leg.close()
            loop.releaseLater(leg)
        }
        legs.removeAll()
        target = nil
        if wasOpen {
            worker.metrics.sessions.add(-1)
            Logger.shared.info("session.close", [
                "session": .int(Int(id)),
                "client": .string(peer.description),
                "duration_seconds": .double(((loop.now - openedAt) * 1000).rounded() / 1000),
                "code": endCode.map { .int(Int($0)) } ?? .null,
                "reason": .string(endReason),
                "rotations": .int(rotations),
            ])
        }
        worker.sessionFinished(self)
    }

    /// What `/connections` shows of this session (spec §5).
    func snapshot() -> SessionSnapshot {
        let now = loop.now
        let down = downstream.heartbeat
        let current = target
        let up = current?.connection?.heartbeat
        return SessionSnapshot(
            id: id, client: peer.description, ageSeconds: now - openedAt,
            downstreamState: down?.health.rawValue ?? "ok", downstreamMissedPongs: down?.consecutiveMisses ?? 0,
            downstreamRTTSeconds: down?.lastRTT, upstreamAgeSeconds: current?.openedAt.map { now - $0 },
            upstreamState: current?.isOpen == true ? (up?.health.rawValue ?? "ok") : (handover?.retryAt != nil || handover?.incoming != nil ? "reconnecting" : "closed"),
            upstreamMissedPongs: up?.consecutiveMisses ?? 0, upstreamRTTSeconds: up?.lastRTT,
            rotations: rotations, messagesUp: messagesUp, messagesDown: messagesDown)
    }

    /// Sends a plain HTTP status to a client that cannot be served (e.g. over max_connections).
    static func refuse(fd: Int32, status: Int, loop: EventLoop) {
        let response = HTTPResponses.error(status: status, body: HTTPResponses.reasonPhrase(status) + "\n")
        // Take in what the client has sent so far: closing with unread bytes sends a reset,
        // which can destroy the response before the client has read it.
        _ = Glibc.recv(fd, loop.readBuffer, loop.readBufferCapacity, Int32(MSG_DONTWAIT))
        _ = response.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Glibc.close(fd)
    }
}

@available(*, unavailable)
extension ProxySession: Sendable {}

private let sessionTimerCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<ProxySession>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.timerFired() }
}
