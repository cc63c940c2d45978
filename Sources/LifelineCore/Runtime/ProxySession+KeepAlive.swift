import CLibev

/// Keep-alive of an open session: each side's `Heartbeat` (the pure state machine)
/// is advanced when the loop's deadline lists say so; its pings go out through the
/// control lane, ahead of queued data; pongs from the peers feed it; slow and dead
/// transitions become metrics, log events and, for dead, the end of that side.
extension ProxySession {
    func startKeepAlive(on connection: Connection, settings: HeartbeatSettings) {
        guard settings.pingsEnabled else { return }
        let seed = UInt64(loop.maskKeys.nextKey()) << 32 | UInt64(loop.maskKeys.nextKey())
        connection.heartbeat = Heartbeat(settings: settings, now: loop.now, seed: seed)
        connection.keepAlive = worker.keepAlive
        worker.keepAlive.reschedule(connection)
    }

    /// New heartbeat settings (SIGHUP reload) for a live connection.
    func reconfigureKeepAlive(_ connection: Connection, _ settings: HeartbeatSettings) {
        if connection.heartbeat == nil {
            if phase == .open && !closing.hasStarted && !connection.isClosed { startKeepAlive(on: connection, settings: settings) }
            return
        }
        connection.heartbeat!.reconfigure(settings, now: loop.now)
    }

    /// One of `connection`'s keep-alive deadlines has come.
    func heartbeatDue(_ connection: Connection) {
        guard phase == .open, !closing.hasStarted, !connection.isClosed, connection.heartbeat != nil else { return }
        connection.releaseIdleBuffers()
        let side = metricSide(connection)
        let wasSlow = connection.heartbeat!.health == .slow
        // Not reading this peer (backpressure from the other side): its pongs may be in the
        // unread input, so nothing is decided about it until reading resumes.
        if connection === downstream ? appPausedForBackpressure : upstreamPausedForBackpressure {
            connection.heartbeat!.postpone(now: loop.now)
        }
        let events = connection.heartbeat!.advance(now: loop.now)
        let heartbeat = connection.heartbeat!
        if events.missed > 0 {
            worker.metrics.pongTimeouts(side).add(events.missed)
            Logger.shared.info(side == .upstream ? "upstream.pong_timeout" : "downstream.pong_timeout", [
                "session": .int(Int(id)), "consecutive_misses": .int(heartbeat.consecutiveMisses),
            ])
        }
        if events.becameSlow {
            worker.metrics.slowConnections(side).add(1)
            Logger.shared.warn(side == .upstream ? "upstream.slow_connection" : "downstream.slow_connection", [
                "session": .int(Int(id)), "client": .string(peer.description), "consecutive_misses": .int(heartbeat.consecutiveMisses),
            ])
        }
        if events.becameDead {
            if wasSlow || events.becameSlow { worker.metrics.slowConnections(side).add(-1) }
            worker.metrics.deadConnections(side).add(1)
            connection.heartbeat = nil
            worker.keepAlive.untrack(connection)
            if connection === downstream {
                downstreamDead(misses: heartbeat.consecutiveMisses)
            } else if let leg = leg(of: connection) {
                upstreamDead(leg, misses: heartbeat.consecutiveMisses)
            }
            return
        }
        if let token = events.pingToken {
            sendPing(token, on: connection)
            worker.metrics.pingsSent(side).add(1)
        }
        worker.keepAlive.reschedule(connection)
    }

    /// A pong from a peer: it answers Lifeline's newest ping, or it is ignored.
    func pongArrived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        let side = metricSide(connection)
        worker.metrics.pongsReceived(side).add(1)
        guard connection.heartbeat != nil else { return }
        guard case .answered(let rtt, let recovered) = connection.heartbeat!.pongReceived(payload, now: loop.now) else { return }
        worker.metrics.pongRTT(side).observe(rtt)
        worker.metrics.lastPongTimestamp(side).set(ev_time())
        if recovered {
            worker.metrics.slowConnections(side).add(-1)
            Logger.shared.info(side == .upstream ? "upstream.recovered" : "downstream.recovered", [
                "session": .int(Int(id)), "rtt_seconds": .double(rtt),
            ])
        }
        worker.keepAlive.reschedule(connection)
    }

    /// Forgets a connection's heartbeat, taking it out of the slow gauge if it was there.
    func retireHeartbeat(_ connection: Connection) {
        guard let heartbeat = connection.heartbeat else { return }
        if heartbeat.health == .slow { worker.metrics.slowConnections(metricSide(connection)).add(-1) }
        connection.heartbeat = nil
        worker.keepAlive.untrack(connection)
    }

    private func sendPing(_ token: UInt64, on connection: Connection) {
        let maskKey: UInt32? = connection.role == .upstream ? loop.maskKeys.nextKey() : nil
        withUnsafeTemporaryAllocation(byteCount: ControlFrame.maxEncodedLength + Heartbeat.payloadLength, alignment: 8) { scratch in
            let payload = scratch.baseAddress! + ControlFrame.maxEncodedLength
            Heartbeat.encodePayload(token, into: payload)
            let length = ControlFrame.encode(opcode: .ping, payload: UnsafeRawBufferPointer(start: payload, count: Heartbeat.payloadLength),
                                             maskKey: maskKey, to: scratch.baseAddress!)
            connection.out.enqueueControl(UnsafeRawBufferPointer(start: scratch.baseAddress, count: length))
        }
        afterWrite(connection, outcome: connection.flush())
    }

    /// The app stopped answering pings: close 1011, and the socket within 1 s; upstream gets 1001.
    private func downstreamDead(misses: Int) {
        Logger.shared.warn("downstream.dead", ["session": .int(Int(id)), "client": .string(peer.description), "consecutive_misses": .int(misses)])
        endCode = CloseCode.internalError.rawValue
        endReason = "pong timeout"
        if !closing.sentToApp {
            sendClose(code: .internalError, reason: "pong timeout", to: downstream)
            closing.sentToApp = true
        }
        closing.receivedFromApp = true
        if let leg = target, leg.isOpen, !closing.sentToUpstream {
            sendClose(code: .goingAway, reason: "client stopped answering pings", to: leg)
            closing.sentToUpstream = true
        }
        armCloseTimer(after: ProxySession.deadPeerCloseSeconds)
        flushAll()
    }

    /// An upstream connection stopped answering pings: it is dropped and replaced (spec §4);
    /// the app stays connected.
    private func upstreamDead(_ leg: UpstreamLeg, misses: Int) {
        Logger.shared.warn("upstream.dead", ["session": .int(Int(id)), "generation": .int(leg.generation), "consecutive_misses": .int(misses)])
        legLost(leg, reason: .pongTimeout)
        flushAll()
    }

    /// A dead peer's socket is closed this long after its close frame, answered or not.
    static let deadPeerCloseSeconds = 1.0

    func metricSide(_ connection: Connection) -> MetricSide {
        connection.role == .downstream ? .downstream : .upstream
    }
}
