import Glibc

/// Ending an open session: close frames relayed across so each peer completes its own
/// close handshake, protocol errors answered with the RFC code, lost connections
/// reported to the other side, and every socket closed within the close timeout.
extension ProxySession {
    /// The app sent a close frame. If it opens the close, it is relayed upstream and
    /// upstream's answer completes the app's handshake; if it answers upstream's close,
    /// upstream gets its own close echoed. Either way each peer hears its own status
    /// code back, as RFC 6455 §5.5.1 has it, whatever the other peer answered.
    func appSentClose(_ payload: UnsafeRawBufferPointer) {
        closing.receivedFromApp = true
        appClosePayload = Array(payload)
        noteEnd(payload, default: "client closed")
        if let upstream, !upstream.isClosed, !closing.sentToUpstream {
            let reply = closing.receivedFromUpstream ? upstreamClosePayload : appClosePayload
            reply.withUnsafeBytes { sendClose($0, to: upstream) }
            closing.sentToUpstream = true
        } else if !closing.sentToApp {
            sendClose(payload, to: downstream)
            closing.sentToApp = true
        }
        armCloseTimer()
    }

    /// Upstream sent a close frame: the mirror of `appSentClose`. In this version the
    /// session then ends (reconnecting instead comes with upstream replacement, spec §4).
    func upstreamSentClose(_ payload: UnsafeRawBufferPointer) {
        closing.receivedFromUpstream = true
        upstreamClosePayload = Array(payload)
        noteEnd(payload, default: "upstream closed")
        if !closing.sentToApp && !downstream.isClosed {
            let reply = closing.receivedFromApp ? appClosePayload : upstreamClosePayload
            reply.withUnsafeBytes { sendClose($0, to: downstream) }
            closing.sentToApp = true
        } else if let upstream, !closing.sentToUpstream {
            sendClose(payload, to: upstream)
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
        if let upstream, !closing.sentToUpstream {
            sendClose(code: .goingAway, reason: "client protocol error", to: upstream)
            closing.sentToUpstream = true
        }
        armCloseTimer()
    }

    func upstreamViolatedProtocol(_ code: CloseCode, reason: String) {
        worker.metrics.protocolError(side: .upstream, code: code.rawValue)
        Logger.shared.warn("upstream.protocol_error", ["session": .int(Int(id)), "code": .int(Int(code.rawValue)), "reason": .string(reason)])
        if let upstream, !closing.sentToUpstream {
            sendClose(code: code, reason: reason, to: upstream)
            closing.sentToUpstream = true
        }
        closing.receivedFromUpstream = true
        if !closing.sentToApp {
            sendClose(code: .internalError, reason: "upstream protocol error", to: downstream)
            closing.sentToApp = true
        }
        endCode = CloseCode.internalError.rawValue
        endReason = "upstream protocol error"
        armCloseTimer()
    }

    /// A socket reached end of stream or failed.
    func connectionLost(_ connection: Connection) {
        guard phase == .open else {
            closeEverything()
            return
        }
        connection.close()
        if connection === downstream {
            closing.receivedFromApp = true
            closing.sentToApp = true
            if endCode == nil { endCode = CloseCode.abnormal.rawValue; endReason = "client disconnected" }
            if let upstream, !upstream.isClosed, !closing.sentToUpstream {
                sendClose(code: .goingAway, reason: "client went away", to: upstream)
                closing.sentToUpstream = true
            }
        } else {
            closing.receivedFromUpstream = true
            closing.sentToUpstream = true
            if !closing.sentToApp && !downstream.isClosed {
                sendClose(code: .internalError, reason: "upstream connection lost", to: downstream)
                closing.sentToApp = true
            }
            if endCode == nil { endCode = CloseCode.internalError.rawValue; endReason = "upstream connection lost" }
        }
        armCloseTimer()
        flushBoth()
        finishIfBothClosed()
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
        if let upstream, !upstream.isClosed, !closing.sentToUpstream {
            sendClose(code: .goingAway, reason: "going away", to: upstream)
            closing.sentToUpstream = true
        }
        armCloseTimer()
        flushBoth()
    }

    /// Closes what has finished its handshake once its queue is written: upstream at once
    /// (we are its client), the app by half-closing and waiting for its end of stream.
    func advanceClose() {
        guard closing.hasStarted else { return }
        if closing.appComplete && !downstream.isClosed && downstream.out.isEmpty && !appWriteShutDown {
            downstream.shutdownWrite()
            appWriteShutDown = true
        }
        if closing.upstreamComplete, let upstream, !upstream.isClosed, upstream.out.isEmpty {
            upstream.close()
        }
        finishIfBothClosed()
    }

    /// Bounds the close handshake: when it fires, whatever is still open is closed.
    /// A shorter bound given later wins over a longer one armed earlier.
    func armCloseTimer(after seconds: Double? = nil) {
        let delay = seconds ?? settings.closeTimeout
        let deadline = loop.now + delay
        guard deadline < closeDeadline else { return }
        closeDeadline = deadline
        timer.arm(after: delay, loop: loop.raw)
    }

    /// Queues a close frame carrying `payload` (already valid: a received close, relayed).
    /// A frame cannot be cut: if one is half-relayed toward `connection`, the socket is closed instead.
    func sendClose(_ payload: UnsafeRawBufferPointer, to connection: Connection) {
        guard !connection.isClosed else { return }
        let frameOpen = connection === downstream ? frameOpenTowardApp : frameOpenTowardUpstream
        if frameOpen {
            connection.close()
            return
        }
        let maskKey: UInt32? = connection.role == .upstream ? loop.maskKeys.nextKey() : nil
        let destination = connection.out.reserve(ControlFrame.maxEncodedLength)
        connection.out.commit(ControlFrame.encode(opcode: .close, payload: payload, maskKey: maskKey, to: destination))
    }

    func sendClose(code: CloseCode, reason: String, to connection: Connection) {
        withUnsafeTemporaryAllocation(byteCount: 125, alignment: 8) { buffer in
            let length = ClosePayload.encode(code: code, reason: reason, to: buffer.baseAddress!)
            sendClose(UnsafeRawBufferPointer(start: buffer.baseAddress, count: length), to: connection)
        }
    }

    private func noteEnd(_ payload: UnsafeRawBufferPointer, default reason: String) {
        guard endCode == nil else { return }
        let parsed = ClosePayload.parse(payload)
        endCode = parsed.code ?? CloseCode.noStatus.rawValue
        endReason = reason
    }
}
