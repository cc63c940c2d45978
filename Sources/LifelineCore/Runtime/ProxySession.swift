import CLibev
import Glibc

/// One app connection and the upstream connection serving it: owns both `Connection`s,
/// the frame decoders of both directions and the session's single timer, which is
/// armed to whichever deadline the current phase has (handshake, connect, close, linger).
///
/// Life: read the app's upgrade request → connect upstream and send our upgrade →
/// answer the app with upstream's 101 (or its refusal) → relay frames both ways →
/// close handshake relayed across → both sockets closed → `worker.sessionFinished`.
final class ProxySession {
    enum Phase { case readingRequest, connecting, awaitingResponse, open, lingering, finished }

    let id: UInt64
    unowned(unsafe) let worker: Worker
    let loop: EventLoop
    let settings: SessionSettings
    let downstream: Connection
    var upstream: Connection?
    let peer: SocketAddress
    var phase: Phase = .readingRequest
    let openedAt: Double
    var timer: TimerWatcher!

    var handshake = HandshakeState()
    var fromApp: FrameDecoder
    var fromUpstream: FrameDecoder
    /// Masking key and payload offset of the frame being re-masked toward upstream.
    var upstreamMaskKey: UInt32 = 0
    var upstreamMaskOffset = 0
    /// A source side stopped because its destination's queue passed `max_buffered_bytes`.
    var appPausedForBackpressure = false
    var upstreamPausedForBackpressure = false
    var closing = CloseHandshake()
    /// The close payloads each peer sent, echoed back to it when the handshake completes.
    var appClosePayload: [UInt8] = []
    var upstreamClosePayload: [UInt8] = []
    var closeDeadline = Double.infinity
    var appWriteShutDown = false
    /// A frame's header has been relayed but not all of its payload yet: no close frame may follow now.
    var frameOpenTowardUpstream = false
    var frameOpenTowardApp = false
    /// The close code that ended the session, for the log.
    var endCode: UInt16?
    var endReason = ""
    /// Loop time the relay opened (the upstream connection's age starts here too).
    var relayOpenedAt: Double?
    /// This session's upstream connection is counted in `lifeline_upstream_connections`.
    var upstreamCounted = false
    var messagesUp = 0
    var messagesDown = 0

    init(id: UInt64, fd: Int32, peer: SocketAddress, worker: Worker) {
        self.id = id
        self.worker = worker
        self.loop = worker.loop
        self.settings = worker.settings
        self.peer = peer
        self.openedAt = worker.loop.now
        downstream = Connection(fd: fd, role: .downstream, loop: worker.loop)
        fromApp = FrameDecoder(role: .server, maxMessageBytes: worker.settings.maxMessageBytes)
        fromUpstream = FrameDecoder(role: .client, maxMessageBytes: worker.settings.maxMessageBytes)
        downstream.session = self
        timer = TimerWatcher(owner: self, callback: sessionTimerCallback)
    }

    deinit {
        timer.free(loop: loop.raw)
    }

    func start() {
        downstream.setReading(true)
        timer.arm(after: settings.handshakeTimeout, loop: loop.raw)
    }

    // MARK: Connection events

    func connectionReadable(_ connection: Connection) {
        switch phase {
        case .readingRequest: readRequest()
        case .awaitingResponse: readResponse()
        case .open: relay(from: connection)
        case .lingering: discardInput(connection)
        case .connecting, .finished: connection.setReading(false)
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
        guard phase == .connecting else { return }
        if error != 0 {
            connectAttemptFailed(SocketError(operation: "connect", code: error))
        } else {
            sendUpstreamRequest()
        }
    }

    fileprivate func timerFired() {
        switch phase {
        case .readingRequest:
            worker.metrics.handshakeFailure(status: 408)
            refuse(status: 408, reason: "the upgrade request did not arrive within \(settings.handshakeTimeout) s")
        case .connecting, .awaitingResponse:
            failUpstreamHandshake(status: 504, reason: "upstream did not complete the handshake within \(settings.connectTimeout) s")
        case .open:
            // The close handshake did not complete in time.
            Logger.shared.debug("session.close_timeout", ["session": .int(Int(id))])
            closeEverything()
        case .lingering:
            closeEverything()
        case .finished:
            break
        }
    }

    // MARK: Ending

    /// Closes both sockets now and finishes the session.
    func closeEverything() {
        upstream?.close()
        downstream.close()
        finish()
    }

    /// Finishes once both sockets are closed.
    func finishIfBothClosed() {
        if downstream.isClosed && (upstream?.isClosed ?? true) { finish() }
    }

    private func finish() {
        guard phase != .finished else { return }
        let wasOpen = relayOpenedAt != nil
        phase = .finished
        timer.disarm(loop: loop.raw)
        retireHeartbeat(downstream)
        if let upstream { retireHeartbeat(upstream) }
        if upstreamCounted { worker.metrics.upstreamConnections.add(-1); upstreamCounted = false }
        if wasOpen {
            worker.metrics.sessions.add(-1)
            Logger.shared.info("session.close", [
                "session": .int(Int(id)),
                "client": .string(peer.description),
                "duration_seconds": .double(((loop.now - openedAt) * 1000).rounded() / 1000),
                "code": endCode.map { .int(Int($0)) } ?? .null,
                "reason": .string(endReason),
            ])
        }
        worker.sessionFinished(self)
    }

    /// What `/connections` shows of this session (spec §5).
    func snapshot() -> SessionSnapshot {
        let now = loop.now
        let down = downstream.heartbeat
        let up = upstream?.heartbeat
        return SessionSnapshot(
            id: id, client: peer.description, ageSeconds: now - openedAt,
            downstreamState: down?.health.rawValue ?? "ok", downstreamMissedPongs: down?.consecutiveMisses ?? 0,
            downstreamRTTSeconds: down?.lastRTT, upstreamAgeSeconds: relayOpenedAt.map { now - $0 },
            upstreamState: upstream == nil || upstream!.isClosed ? "closed" : (up?.health.rawValue ?? "ok"),
            upstreamMissedPongs: up?.consecutiveMisses ?? 0, upstreamRTTSeconds: up?.lastRTT,
            rotations: 0, messagesUp: messagesUp, messagesDown: messagesDown)
    }

    /// Sends a plain HTTP status to a client that cannot be served (e.g. over max_connections).
    static func refuse(fd: Int32, status: Int, loop: EventLoop) {
        let response = HTTPResponses.error(status: status, body: HTTPResponses.reasonPhrase(status) + "\n")
        _ = response.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Glibc.close(fd)
    }
}

@available(*, unavailable)
extension ProxySession: Sendable {}

private let sessionTimerCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<ProxySession>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.timerFired() }
}
