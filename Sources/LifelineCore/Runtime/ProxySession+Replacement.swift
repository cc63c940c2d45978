import Glibc

/// Upstream replacement (spec §4): carries out what the hand-over state machine decides —
/// new connections, replay, the hand-over of app traffic, the splice of the old and new
/// streams toward the app, backoff, giving up — and keeps the app connected throughout.
extension ProxySession {
    /// Starts a rotation (lifetime reached, or a server notice).
    func rotate(_ reason: UpstreamHandover.Reason) {
        guard phase == .open, !closing.hasStarted, var handover else { return }
        let actions = handover.rotate(reason, now: loop.now)
        self.handover = handover
        perform(actions)
    }

    /// A replacement connection failed before it opened.
    func replacementFailed(_ leg: UpstreamLeg, refusedStatus: Int?) {
        guard var handover, phase == .open else { return removeLeg(leg) }
        let actions = handover.failed(leg.generation, reason: .upstreamError, refusedStatus: refusedStatus, now: loop.now, random: randomUnit())
        self.handover = handover
        perform(actions)
        if legs.contains(where: { $0 === leg }) { removeLeg(leg) }
    }

    /// An open connection died, closed or failed: replaced (the app stays connected).
    func legLost(_ leg: UpstreamLeg, reason: UpstreamHandover.Reason) {
        guard phase == .open, !closing.hasStarted, var handover else {
            removeLeg(leg)
            finishIfAllClosed()
            return
        }
        Logger.shared.info("upstream.lost", ["session": .int(Int(id)), "generation": .int(leg.generation), "reason": .string(reason.rawValue)])
        let actions = handover.failed(leg.generation, reason: reason, now: loop.now, random: randomUnit())
        self.handover = handover
        perform(actions)
        if legs.contains(where: { $0 === leg }) { removeLeg(leg) }
    }

    func perform(_ actions: [HandoverAction]) {
        for action in actions {
            switch action {
            case .connect(let generation):
                connect(UpstreamLeg(generation: generation, session: self, maxMessageBytes: settings.maxMessageBytes))
            case .handOver(let to, let from):
                if let newLeg = leg(generation: to) { handOver(to: newLeg, from: from.flatMap { leg(generation: $0) }) }
            case .closeDrained(let generation):
                if let old = leg(generation: generation) { closeDrained(old) }
            case .forceSplice:
                Logger.shared.info("upstream.splice_timeout", ["session": .int(Int(id))])
                oldEnded()
            case .drop(let generation):
                if let dropped = leg(generation: generation) { dropLeg(dropped) }
            case .scheduleRetry(_, let delay, let attempt, let reason):
                Logger.shared.info("upstream.reconnect_scheduled", [
                    "session": .int(Int(id)), "delay_seconds": .double((delay * 1000).rounded() / 1000),
                    "attempt": .int(attempt), "reason": .string(reason.rawValue),
                ])
            case .giveUp(let status):
                giveUp(refusedStatus: status)
            case .rotationAbandoned:
                Logger.shared.warn("upstream.rotation_abandoned", ["session": .int(Int(id))])
                if target?.isOpen == true { abandonSpliceRecording() }
            case .rotationTriggered(let reason):
                Logger.shared.info("upstream.rotation_triggered", ["session": .int(Int(id)), "reason": .string(reason.rawValue)])
                beginSpliceRecording()
            case .rotated(let reason):
                rotations += 1
                worker.metrics.rotations(RotationReason(rawValue: reason.rawValue) ?? .upstream_error).add()
                Logger.shared.info("upstream.rotated", ["session": .int(Int(id)), "reason": .string(reason.rawValue), "generation": .int(target?.generation ?? 0)])
            }
        }
        rearmTimer()
    }

    /// The new connection is up: replay, then move app traffic (and what waited) to it.
    private func handOver(to newLeg: UpstreamLeg, from oldLeg: UpstreamLeg?) {
        var replayed = 0
        replay.forEach { opcode, payload in
            sendWholeMessage(opcode, payload, to: newLeg)
            replayed += 1
        }
        if replayed > 0 { worker.metrics.replayedMessages.add(replayed) }
        if (target.map { $0 !== newLeg && $0.isOpen && $0.messageOpenToward } ?? false) || appFrameOpen {
            // The app is half-way through a frame or a message: it ends where it started.
            deferredTarget = newLeg
        } else {
            target = newLeg
            flushPending(to: newLeg)
        }
        if let oldLeg, oldLeg.isOpen {
            // Only one connection may stream frames to the app: the new one's messages are
            // assembled whole until the splice hands the app's stream over to it. Without a
            // recording (de-duplication off) the splice switches at the new one's first message.
            if splice == nil || spliceOld !== oldLeg {
                splice = StreamSplice(window: 0)
                spliceOld = oldLeg
            } else {
                splice?.newOpened() // a reconnect after the previous new connection died mid-splice
            }
            spliceNew = newLeg
            spliceNewDelivered = false
            drainStartedAt = loop.now
            newLeg.assembles = true
        } else {
            abandonSpliceRecording()
        }
        updateReading()
    }

    /// Starts recording what the current connection delivers, so the next one's copies can be recognised.
    private func beginSpliceRecording() {
        if splice != nil && spliceOld == nil {
            // The previous hand-over's old connection is gone and its splice only waits for
            // a fresh message: finish it, so this rotation records (and de-duplicates) anew.
            relayQueuedAndFinish()
        }
        guard let current = target, current.isOpen, splice == nil else { return }
        splice = StreamSplice(window: settings.dedupeWindow)
        spliceOld = current
        current.wantsHashes = true
    }

    /// Ends the splice without relaying anything it still holds (callers settle first).
    private func abandonSpliceRecording() {
        spliceHeld = []
        spliceQueue = []
        spliceBytes = 0
        spliceForcePending = false
        spliceOld?.wantsHashes = false
        splice = nil
        spliceOld = nil
        spliceNew = nil
    }

    /// A whole message from the new connection, during a splice.
    func spliceNewMessage(_ message: HeldMessage) {
        spliceNewDelivered = true
        spliceQueue.append(message)
        spliceBytes += message.bytes.count
        processSpliceQueue()
        if splice != nil && spliceBytes > settings.maxBufferedBytes {
            Logger.shared.info("upstream.splice_overflow", ["session": .int(Int(id)), "bytes": .int(spliceBytes)])
            oldEnded()
            if splice != nil { relayQueuedAndFinish() }
        }
    }

    /// The old connection finished relaying a message to the app.
    func spliceOldMessageEnded(hash: UInt64, length: Int) {
        guard var splice else { return }
        if splice.oldMessage(hash: hash, length: length) == .relayAndDiscardHeldHead, !spliceHeld.isEmpty {
            spliceBytes -= spliceHeld.removeFirst().bytes.count
        }
        self.splice = splice
        if spliceForcePending { oldEnded() } else { processSpliceQueue() }
    }

    /// Feeds the new connection's queued messages to the splice while the old connection is
    /// at a message boundary (nothing may be cut into a message it is relaying).
    private func processSpliceQueue() {
        guard var splice, spliceNew != nil || splice.isNewClosed else { return }
        while !spliceQueue.isEmpty && !(spliceOld.map { $0.isOpen && $0.messageOpenTowardApp } ?? false) {
            let message = spliceQueue.removeFirst()
            switch splice.newMessage(hash: message.hash, length: message.bytes.count) {
            case .drop:
                spliceBytes -= message.bytes.count
                worker.metrics.deduplicatedMessages.add()
            case .hold where !splice.isOldClosed:
                spliceHeld.append(message)
            case .hold, .switchNow:
                spliceQueue.insert(message, at: 0)
                self.splice = splice
                relayQueuedAndFinish()
                return
            }
        }
        self.splice = splice
    }

    /// The splice switched: what is held or queued goes to the app in order, the new
    /// connection is relayed directly from now on, and the old one is closed.
    private func relayQueuedAndFinish() {
        for message in spliceHeld + spliceQueue { relayWholeToApp(message.opcode, message.bytes) }
        spliceHeld = []
        spliceQueue = []
        spliceBytes = 0
        if let newLeg = spliceNew {
            if newLeg.assembly.isOpen { newLeg.stopsAssemblingAtMessageEnd = true } else { newLeg.assembles = false }
        }
        let old = spliceOld
        old?.relaysToApp = false
        old?.wantsHashes = false
        splice = nil
        spliceOld = nil
        spliceNew = nil
        spliceForcePending = false
        if let old, var handover {
            let actions = handover.drainFinished(old.generation, now: loop.now)
            self.handover = handover
            perform(actions)
        }
    }

    /// The old connection stops delivering before the streams switched (drain deadline, its
    /// death, too much held): the splice decides, oldest first, which held messages it had
    /// already delivered; the rest go to the app, and the new connection's duplicates are
    /// still dropped until its first fresh message.
    func oldEnded() {
        guard var splice else { return }
        if let old = spliceOld, old.isOpen, old.messageOpenTowardApp {
            spliceForcePending = true // its message to the app must end first
            return
        }
        spliceForcePending = false
        let held = spliceHeld
        spliceHeld = []
        var index = 0
        splice.oldClosed { relay in
            if relay { relayWholeToApp(held[index].opcode, held[index].bytes) } else { worker.metrics.deduplicatedMessages.add() }
            index += 1
        }
        self.splice = splice
        spliceBytes = spliceQueue.reduce(0) { $0 + $1.bytes.count }
        let old = spliceOld
        old?.relaysToApp = false
        old?.wantsHashes = false
        spliceOld = nil
        if let old, var handover {
            let actions = handover.drainFinished(old.generation, now: loop.now)
            self.handover = handover
            perform(actions)
        }
        processSpliceQueue()
        if self.splice != nil && spliceOld == nil && spliceNew == nil {
            // Both connections of this splice are gone and everything is settled. (A splice
            // with an old connection is a recording a deferred rotation has just begun.)
            abandonSpliceRecording()
        }
    }

    /// The new connection died during the overlap. The old one still streams to the app and
    /// normally delivers what the new one had sent ahead; until it does, those messages stay
    /// held, and if it ends first, `oldEnded` relays the ones it never delivered. The next
    /// connection (the reconnect) is spliced against the old one again. Without de-duplication
    /// there is nothing to settle with: the copies are dropped with the splice.
    private func newEnded() {
        spliceNew = nil
        if var splice, splice.window > 0, let old = spliceOld, old.isOpen {
            splice.newClosed()
            self.splice = splice
            processSpliceQueue()
            return
        }
        abandonSpliceRecording()
    }

    /// Closes a drained connection with 1000 "rotation"; its socket goes when it answers
    /// (or after the close timeout).
    private func closeDrained(_ old: UpstreamLeg) {
        guard let connection = old.connection, old.isOpen else { return removeLeg(old) }
        retireHeartbeat(connection)
        old.phase = .closing
        old.arm(at: loop.now + settings.closeTimeout)
        if old.frameOpenToward {
            removeLeg(old)
            return
        }
        sendClose(code: .normal, reason: "rotation", to: old)
        afterWrite(connection, outcome: connection.flush())
    }

    /// Closes a connection that failed or died, without a close handshake.
    private func dropLeg(_ dropped: UpstreamLeg) {
        if dropped === target { target = nil }
        if dropped === deferredTarget { deferredTarget = nil }
        let brokeAppStream = dropped.messageOpenTowardApp && dropped.relaysToApp
        if dropped === spliceOld {
            spliceForcePending = false
            dropped.messageOpenTowardApp = false
            if spliceNew != nil || splice?.isNewClosed == true { oldEnded() } else { abandonSpliceRecording() }
        } else if dropped === spliceNew {
            newEnded()
        }
        if let connection = dropped.connection, !connection.isClosed { _ = connection.flush() }
        removeLeg(dropped)
        if brokeAppStream { appStreamBroken() }
    }

    /// An upstream connection went away half-way through a message it was relaying to the
    /// app: no replacement can continue that message, so the app is told (1011) rather than
    /// handed a corrupt stream.
    private func appStreamBroken() {
        Logger.shared.warn("upstream.lost_mid_message", ["session": .int(Int(id))])
        giveUp(refusedStatus: nil)
    }

    /// Forgets a leg: out of the metrics and keep-alive lists, socket closed, released
    /// after the current callback.
    func removeLeg(_ leg: UpstreamLeg) {
        retire(leg)
        leg.close()
        if let index = legs.firstIndex(where: { $0 === leg }) {
            loop.releaseLater(legs.remove(at: index))
        }
        if leg === target { target = nil }
    }

    func retire(_ leg: UpstreamLeg) {
        if leg.countedAsConnection {
            worker.metrics.upstreamConnections.add(-1)
            leg.countedAsConnection = false
        }
        if let connection = leg.connection { retireHeartbeat(connection) }
    }

    /// No more attempts: the app is closed with 1011.
    private func giveUp(refusedStatus: Int?) {
        let reason = refusedStatus.map { "upstream refused the handshake: HTTP \($0)" } ?? "upstream unavailable"
        Logger.shared.warn("upstream.gave_up", ["session": .int(Int(id)), "reason": .string(reason)])
        endCode = CloseCode.internalError.rawValue
        endReason = reason
        for leg in legs { removeLeg(leg) }
        closing.sentToUpstream = true
        closing.receivedFromUpstream = true
        if !closing.sentToApp {
            sendClose(code: .internalError, reason: reason, to: downstream)
            closing.sentToApp = true
        }
        armCloseTimer()
        flushAll()
    }

    /// Draws the rotation age of a freshly opened connection.
    func scheduleRotation(_ leg: UpstreamLeg) {
        let upstream = worker.configuration.upstream
        guard let openedAt = leg.openedAt,
              let lifetime = RotationSchedule.lifetime(maxLifetime: upstream.maxLifetimeSeconds, jitter: upstream.rotationJitterSeconds, random: randomUnit())
        else { return leg.arm(at: .infinity) }
        leg.arm(at: openedAt + lifetime)
    }

    /// One whole message as a single masked frame toward `leg`.
    func sendWholeMessage(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer, to leg: UpstreamLeg) {
        guard let connection = leg.connection, !connection.isClosed else { return }
        appendMaskedFrame(fin: true, opcode: opcode, payload: payload, to: connection)
    }

    /// A complete frame with a fresh masking key, payload masked on the way into the queue.
    private func appendMaskedFrame(fin: Bool, opcode: Opcode, payload: UnsafeRawBufferPointer, to connection: Connection) {
        let key = loop.maskKeys.nextKey()
        let header = FrameHeader(fin: fin, opcode: opcode, maskKey: key, payloadLength: payload.count)
        connection.out.commit(header.encode(to: connection.out.reserve(header.encodedLength)))
        if payload.count > 0 {
            Masking.copy(from: payload.baseAddress!, to: connection.out.reserve(payload.count), count: payload.count, key: key, offset: 0)
            connection.out.commit(payload.count)
        }
    }

    /// Sends the app frames that waited for an upstream connection, in order, remembering
    /// each whole message for later replays.
    func flushPending(to leg: UpstreamLeg) {
        guard !pending.isEmpty, let connection = leg.connection else { return }
        var message: [UInt8] = []
        var messageOpcode = Opcode.binary
        pending.forEach { fin, opcode, payload in
            appendMaskedFrame(fin: fin, opcode: opcode, payload: payload, to: connection)
            if opcode != .continuation { messageOpcode = opcode; message.removeAll(keepingCapacity: true) }
            message.append(contentsOf: payload)
            leg.messageOpenToward = !fin
            if fin { _ = message.withUnsafeBytes { replay.remember(opcode: messageOpcode, payload: $0) } }
        }
        pending.removeAll()
        updateReading()
    }

    /// A value in [0, 1) for jitter (from the loop's random block).
    func randomUnit() -> Double {
        Double(loop.maskKeys.nextKey()) / 4_294_967_296.0
    }
}
