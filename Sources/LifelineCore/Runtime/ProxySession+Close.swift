import Glibc

/// Ending things: the app's close relayed to the current upstream connection and each
/// peer's own close echoed back to it; an upstream connection's own close either
/// replaced (spec §3 `on_close = reconnect`) or passed to the app; protocol errors
/// answered with the RFC code; every socket closed within the close timeout.
extension ProxySession {
    /// The app sent a close frame: relayed to the current upstream connection, whose answer
    /// completes the app's handshake with the app's own code echoed (RFC 6455 §5.5.1).
    func appSentClose(_ payload: UnsafeRawBufferPointer) {
        closing.receivedFromApp = true
        appClosePayload = Array(payload)
        noteEnd(payload, default: "client closed")
        endReplacement()
        if let leg = target, leg.isOpen, !leg.closeSent {
            let reply = leg.closeReceived ? upstreamClosePayload : appClosePayload
            reply.withUnsafeBytes { sendClose($0, to: leg) }
            closing.sentToUpstream = true
        } else {
            closing.sentToUpstream = true
            closing.receivedFromUpstream = true
            for leg in legs { removeLeg(leg) }
            if !closing.sentToApp {
                sendClose(payload, to: downstream)
                closing.sentToApp = true
            }
        }
        armCloseTimer()
    }

    /// An upstream connection sent a close frame.
    func upstreamSentClose(_ payload: UnsafeRawBufferPointer, on leg: UpstreamLeg) {
        leg.closeReceived = true
        if leg.closeSent || leg !== target {
            // The answer to our close (rotation, drain, app close), or an old connection leaving on its own.
            if leg === target && closing.hasStarted {
                upstreamClosePayload = Array(payload)
                closing.receivedFromUpstream = true
                if !closing.sentToApp && !downstream.isClosed {
                    appClosePayload.withUnsafeBytes { sendClose($0, to: downstream) }
                    closing.sentToApp = true
                }
            } else if leg.phase == .open, var handover {
                sendClose(payload, to: leg)
                if let connection = leg.connection { _ = connection.flush() }
                let actions = handover.failed(leg.generation, reason: .upstreamClose, now: loop.now, random: randomUnit())
                self.handover = handover
                perform(actions)
            }
            if !leg.closeSent { sendClose(payload, to: leg) }
            retire(leg)
            leg.phase = .closing
            advanceClose()
            return
        }
        let code = ClosePayload.parse(payload).code
        if worker.configuration.upstream.onClose == .reconnect && code != CloseCode.policyViolation.rawValue && !closing.hasStarted {
            // Answer it, let it go, and replace it: the app stays connected.
            Logger.shared.info("upstream.closed", ["session": .int(Int(id)), "generation": .int(leg.generation), "code": code.map { .int(Int($0)) } ?? .null])
            sendClose(payload, to: leg)
            legLost(leg, reason: .upstreamClose)
            return
        }
        // Passed to the app; the app's answer completes upstream's handshake.
        closing.receivedFromUpstream = true
        upstreamClosePayload = Array(payload)
        noteEnd(payload, default: "upstream closed")
        endReplacement()
        if !closing.sentToApp && !downstream.isClosed {
            sendClose(payload, to: downstream)
            closing.sentToApp = true
        } else if !closing.sentToUpstream {
            sendClose(payload, to: leg)
            closing.sentToUpstream = true
        }
        armCloseTimer()
    }

    func appViolatedProtocol(_ code: CloseCode, reason: String) {
        worker.metrics.protocolError(side: .downstream, code: code.rawValue)
        Logger.shared.info("downstream.protocol_error", ["session": .int(Int(id)), "code": .int(Int(code.rawValue)), "reason": .string(reason)])
        endCode = code.rawValue
        endReason = reason
        if !closing.sentToApp {
            sendClose(code: code, reason: reason, to: downstream)
            closing.sentToApp = true
        }
        closing.receivedFromApp = true
        closeUpstreamSide(code: .goingAway, reason: "client protocol error")
        armCloseTimer()
    }

    func upstreamViolatedProtocol(_ code: CloseCode, reason: String, on leg: UpstreamLeg) {
        worker.metrics.protocolError(side: .upstream, code: code.rawValue)
        Logger.shared.warn("upstream.protocol_error", ["session": .int(Int(id)), "generation": .int(leg.generation), "code": .int(Int(code.rawValue)), "reason": .string(reason)])
        if !leg.closeSent { sendClose(code: code, reason: reason, to: leg) }
        leg.closeReceived = true
        if let connection = leg.connection { _ = connection.flush() }
        legLost(leg, reason: .upstreamError)
    }

    /// A socket reached end of stream or failed.
    func connectionLost(_ connection: Connection) {
        guard phase == .open else {
            closeEverything()
            return
        }
        if connection === downstream {
            connection.close()
            closing.receivedFromApp = true
            closing.sentToApp = true
            if endCode == nil { endCode = CloseCode.abnormal.rawValue; endReason = "client disconnected" }
            endReplacement()
            closeUpstreamSide(code: .goingAway, reason: "client went away")
        } else if let leg = leg(of: connection) {
            connection.close()
            if leg.closeSent || leg.closeReceived || leg.phase == .closing {
                removeLeg(leg)
            } else if closing.hasStarted {
                removeLeg(leg)
                closing.receivedFromUpstream = true
                closing.sentToUpstream = true
                if !closing.sentToApp && !downstream.isClosed {
                    sendClose(code: .internalError, reason: "upstream connection lost", to: downstream)
                    closing.sentToApp = true
                }
            } else {
                legLost(leg, reason: .upstreamError)
            }
        }
        // Only a session that is ending gets the close timeout: a lost upstream socket that
        // is being replaced must not cut the app off when the timer fires (spec §4).
        if closing.hasStarted { armCloseTimer() }
        flushAll()
        finishIfAllClosed()
    }

    /// Drain (SIGTERM): the app gets 1001 after its queued data; upstream is closed too.
    func goAway() {
        guard phase == .open else {
            closeEverything()
            return
        }
        if !closing.sentToApp && !downstream.isClosed {
            sendClose(code: .goingAway, reason: "going away", to: downstream)
            closing.sentToApp = true
        }
        endReplacement()
        closeUpstreamSide(code: .goingAway, reason: "going away")
        armCloseTimer()
        flushAll()
    }

    /// The session is ending: no more rotations or reconnects; connections other than the
    /// current one are let go.
    private func endReplacement() {
        guard var handover else { return }
        let actions = handover.sessionEnded()
        self.handover = handover
        for case .drop(let generation) in actions { if let leg = leg(generation: generation) { removeLeg(leg) } }
        for case .closeDrained(let generation) in actions { if let leg = leg(generation: generation), leg !== target { removeLeg(leg) } }
        splice = nil
        spliceOld = nil
        spliceHeld = []
        spliceQueue = []
        pending.removeAll()
        rearmTimer()
    }

    /// Sends a close to the current upstream connection (or forgets the upstream side when there is none).
    private func closeUpstreamSide(code: CloseCode, reason: String) {
        guard !closing.sentToUpstream else { return }
        closing.sentToUpstream = true
        if let leg = target, leg.isOpen, !leg.closeSent {
            sendClose(code: code, reason: reason, to: leg)
        } else {
            closing.receivedFromUpstream = true
            for leg in legs { removeLeg(leg) }
        }
    }

    /// Closes what has finished its handshake once its queue is written: upstream
    /// connections at once (we are their client), the app by half-closing and waiting
    /// for its end of stream.
    func advanceClose() {
        for leg in legs where leg.closeSent && leg.closeReceived {
            if let connection = leg.connection, !connection.isClosed, connection.out.isEmpty { removeLeg(leg) }
        }
        guard closing.hasStarted else { return }
        if closing.appComplete && !downstream.isClosed && downstream.out.isEmpty && !appWriteShutDown {
            downstream.shutdownWrite()
            appWriteShutDown = true
        }
        finishIfAllClosed()
    }

    /// Bounds the close handshake: when it fires, whatever is still open is closed.
    /// A shorter bound given later wins over a longer one armed earlier.
    func armCloseTimer(after seconds: Double? = nil) {
        let deadline = loop.now + (seconds ?? settings.closeTimeout)
        guard deadline < closeDeadline else { return }
        closeDeadline = deadline
        rearmTimer()
    }

    /// Queues a close frame carrying `payload` (already valid: a received close, relayed or echoed).
    /// A frame cannot be cut: if one is half-relayed toward the app, its socket is closed instead.
    func sendClose(_ payload: UnsafeRawBufferPointer, to connection: Connection) {
        guard !connection.isClosed else { return }
        if connection === downstream && frameOpenTowardApp {
            connection.close()
            return
        }
        let maskKey: UInt32? = connection.role == .upstream ? loop.maskKeys.nextKey() : nil
        let destination = connection.out.reserve(ControlFrame.maxEncodedLength)
        connection.out.commit(ControlFrame.encode(opcode: .close, payload: payload, maskKey: maskKey, to: destination))
    }

    /// Queues a close frame toward an upstream connection (closing its socket instead when
    /// a frame toward it is half-sent).
    func sendClose(_ payload: UnsafeRawBufferPointer, to leg: UpstreamLeg) {
        guard let connection = leg.connection, !connection.isClosed, !leg.closeSent else { return }
        leg.closeSent = true
        if leg.frameOpenToward {
            removeLeg(leg)
            return
        }
        sendClose(payload, to: connection)
    }

    func sendClose(code: CloseCode, reason: String, to connection: Connection) {
        withUnsafeTemporaryAllocation(byteCount: 125, alignment: 8) { buffer in
            let length = ClosePayload.encode(code: code, reason: reason, to: buffer.baseAddress!)
            sendClose(UnsafeRawBufferPointer(start: buffer.baseAddress, count: length), to: connection)
        }
    }

    func sendClose(code: CloseCode, reason: String, to leg: UpstreamLeg) {
        withUnsafeTemporaryAllocation(byteCount: 125, alignment: 8) { buffer in
            let length = ClosePayload.encode(code: code, reason: reason, to: buffer.baseAddress!)
            sendClose(UnsafeRawBufferPointer(start: buffer.baseAddress, count: length), to: leg)
        }
    }

    private func noteEnd(_ payload: UnsafeRawBufferPointer, default reason: String) {
        guard endCode == nil else { return }
        let parsed = ClosePayload.parse(payload)
        endCode = parsed.code ?? CloseCode.noStatus.rawValue
        endReason = reason
    }
}
