import Glibc

/// The open session's data path. Every read lands in the loop's shared buffer, is
/// decoded in place and re-encoded straight into the destination's outbound queue: app
/// frames are unmasked and re-masked with a fresh key in one pass; upstream frames go as
/// they are, borrowed from the read buffer when the app's connection is plain TCP (a
/// read's frames usually leave in one send, uncopied; `process` settles what the socket
/// did not take before the buffer is reused). Nothing is allocated per message on this
/// path while one upstream connection serves the session; during a hand-over the new
/// connection's messages are assembled whole so the splice can compare them.
extension ProxySession {
    /// Where the app frame being relayed goes.
    enum AppFrameDestination { case leg, pending, discard }

    /// - Parameter leg: `source`'s upstream leg, nil when `source` is the app's connection.
    func relay(from source: Connection, leg: UpstreamLeg?) {
        let inputFinished = leg.map { $0.closeReceived } ?? closing.receivedFromApp
        let buffer = loop.readBuffer
        let carried = inputFinished ? 0 : source.carry.count
        // Fairness: a read full of control frames (a ping flood) is answered frame by frame,
        // so after one the next read is kept small; the loop's other sessions wait for at
        // most `controlFloodReadBytes` of such work.
        let room = loop.readBufferCapacity - carried
        let capacity = source.readsControlFlood ? min(room, ProxySession.controlFloodReadBytes) : room
        switch source.read(into: buffer + carried, capacity: capacity) {
        case .data(let count):
            if inputFinished { return } // after its close frame a peer has nothing more to say
            if carried > 0 {
                buffer.copyMemory(from: source.carry.bytes!, byteCount: carried)
                source.carry.clear()
            }
            controlFramesInRead = 0
            process(buffer, count: carried + count, from: source, leg: leg, flush: true)
            source.readsControlFlood = controlFramesInRead > ProxySession.controlFloodFrames
        case .wouldBlock:
            return
        case .endOfStream, .failed:
            connectionLost(source)
        }
    }

    /// A read holding more control frames than this makes the next read small.
    static let controlFloodFrames = 64
    /// The size of a read after a control flood (about 2,700 of the smallest pings).
    static let controlFloodReadBytes = 16 * 1024

    /// Decodes `count` bytes from `source` (`leg`'s connection, or the app's when nil) and
    /// relays them; keeps an incomplete tail.
    func process(_ bytes: UnsafeMutableRawPointer, count: Int, from source: Connection, leg: UpstreamLeg?, flush: Bool) {
        let consumed: Int
        if let leg {
            consumed = relayFromUpstream(leg, bytes, count)
        } else {
            consumed = relayFromApp(bytes, count)
        }
        if consumed < count && !source.isClosed {
            source.carry.store(UnsafeRawBufferPointer(start: bytes + consumed, count: count - consumed))
        }
        if flush { flushAll() }
        // Upstream frames may have been queued toward the app straight from `bytes`
        // (the loop's read buffer, reused by the next read): keep what was not sent.
        downstream.out.settleBorrowed()
    }

    /// App → upstream (or the pending queue while reconnecting). Returns the bytes consumed.
    private func relayFromApp(_ bytes: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var offset = 0
        while true {
            let (event, used) = fromApp.next(UnsafeMutableRawBufferPointer(start: bytes + offset, count: count - offset))
            offset += used
            switch event {
            case .needMore:
                return offset
            case .dataHeader(let header):
                appFrameHeader(header)
            case .dataPayload(let chunk, let frameEnd, let messageEnd):
                appFramePayload(UnsafeRawBufferPointer(chunk), frameEnd: frameEnd, messageEnd: messageEnd)
            case .control(let header, let payload):
                controlFramesInRead &+= 1
                switch header.opcode {
                case .ping:
                    if !closing.sentToApp { answerPing(UnsafeRawBufferPointer(payload), on: downstream) }
                case .pong:
                    pongArrived(UnsafeRawBufferPointer(payload), on: downstream)
                case .close:
                    appSentClose(UnsafeRawBufferPointer(payload))
                    return count
                default:
                    break
                }
            case .failure(let code, let reason):
                appViolatedProtocol(code, reason: reason.description)
                return count
            }
        }
    }

    private func appFrameHeader(_ header: FrameHeader) {
        appFrameOpen = true
        if header.opcode != .continuation {
            discardingAppMessage = false
            appMessageTooLargeToRemember = false
            if settings.replay.mode != .none { appMessage.begin(header.opcode) }
        }
        if discardingAppMessage || closing.sentToUpstream {
            appDestination = .discard
        } else if target?.isOpen == true && target?.closeSent == false {
            // unowned(unsafe): the session holds both for the whole call; no retain per frame.
            unowned(unsafe) let leg = target!
            unowned(unsafe) let connection = leg.connection!
            appDestination = .leg
            leg.maskKey = loop.maskKeys.nextKey()
            leg.maskOffset = 0
            let outgoing = FrameHeader(fin: header.fin, opcode: header.opcode, maskKey: leg.maskKey, payloadLength: header.payloadLength)
            Unmanaged.passUnretained(connection)._withUnsafeGuaranteedRef { connection in
                connection.out.commit(outgoing.encode(to: connection.out.reserve(outgoing.encodedLength)))
            }
            leg.frameOpenToward = true
            leg.messageOpenToward = !header.fin
        } else if header.opcode == .continuation && !pending.isMessageOpen {
            discardingAppMessage = true // its start went to a connection that is gone
            appDestination = .discard
        } else {
            appDestination = .pending
            pending.beginFrame(fin: header.fin, opcode: header.opcode, length: header.payloadLength)
        }
    }

    private func appFramePayload(_ chunk: UnsafeRawBufferPointer, frameEnd: Bool, messageEnd: Bool) {
        // A message that is whole in this chunk (the usual case) is remembered straight from
        // the read buffer; only a message split across chunks is gathered in `appMessage`.
        let wholeInChunk = messageEnd && appMessage.isOpen && appMessage.bytes.isEmpty
        if appMessage.isOpen && !appMessageTooLargeToRemember {
            if appMessage.bytes.count + chunk.count > settings.replay.maxBytes {
                appMessageTooLargeToRemember = true
            } else if !wholeInChunk {
                appMessage.append(chunk)
            }
        }
        switch appDestination {
        case .leg:
            guard target?.connection != nil else { break }
            unowned(unsafe) let leg = target!
            unowned(unsafe) let connection = leg.connection!
            if chunk.count > 0 {
                Unmanaged.passUnretained(connection)._withUnsafeGuaranteedRef { connection in
                    Masking.copy(from: chunk.baseAddress!, to: connection.out.reserve(chunk.count), count: chunk.count, key: leg.maskKey, offset: leg.maskOffset)
                    connection.out.commit(chunk.count)
                }
                leg.maskOffset += chunk.count
            }
            if frameEnd { leg.frameOpenToward = false }
            if messageEnd {
                leg.messageOpenToward = false
                if appMessage.isOpen && !appMessageTooLargeToRemember {
                    if wholeInChunk {
                        _ = replay.remember(opcode: appMessage.opcode, payload: chunk)
                    } else {
                        _ = appMessage.bytes.withUnsafeBytes { replay.remember(opcode: appMessage.opcode, payload: $0) }
                    }
                }
            }
        case .pending:
            pending.append(chunk)
        case .discard:
            break
        }
        worker.metrics.bytes(.up).add(chunk.count)
        if frameEnd { appFrameOpen = false }
        if messageEnd {
            appMessage.isOpen = false
            // Keep no large gathering buffer for an idle session.
            if appMessage.bytes.capacity > MessageAssembly.retainedCapacity { appMessage.release() }
            worker.metrics.messages(.up).add()
            messagesUp += 1
        }
        if frameEnd, let next = deferredTarget, !(target?.isOpen == true && target?.messageOpenToward == true) {
            // The hand-over waited for the app's frame (or message) to end.
            deferredTarget = nil
            target = next
            flushPending(to: next)
        }
    }

    /// Upstream → app. Returns the bytes consumed.
    private func relayFromUpstream(_ leg: UpstreamLeg, _ bytes: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var offset = 0
        while true {
            let (event, used) = leg.decoder.next(UnsafeMutableRawBufferPointer(start: bytes + offset, count: count - offset))
            offset += used
            switch event {
            case .needMore:
                return offset
            case .dataHeader(let header):
                upstreamFrameHeader(header, raw: UnsafeRawBufferPointer(start: bytes + offset - used, count: used), from: leg)
            case .dataPayload(let chunk, let frameEnd, let messageEnd):
                upstreamFramePayload(UnsafeRawBufferPointer(chunk), from: leg, frameEnd: frameEnd, messageEnd: messageEnd)
            case .control(let header, let payload):
                controlFramesInRead &+= 1
                guard let connection = leg.connection else { return count }
                switch header.opcode {
                case .ping:
                    if !leg.closeSent { answerPing(UnsafeRawBufferPointer(payload), on: connection) }
                case .pong:
                    pongArrived(UnsafeRawBufferPointer(payload), on: connection)
                case .close:
                    upstreamSentClose(UnsafeRawBufferPointer(payload), on: leg)
                    return count
                default:
                    break
                }
            case .failure(let code, let reason):
                upstreamViolatedProtocol(code, reason: reason.description, on: leg)
                return count
            }
        }
    }

    /// `raw` is the header as it arrived: relayed as it is (without a copy when the app's
    /// connection can borrow) when it is what `encode` would write.
    private func upstreamFrameHeader(_ header: FrameHeader, raw: UnsafeRawBufferPointer, from leg: UpstreamLeg) {
        let reachesApp = leg.relaysToApp && !closing.sentToApp && !downstream.isClosed
        if header.opcode != .continuation {
            leg.hashing = leg.wantsHashes
            if leg.hashing { leg.hasher = MessageHasher() }
            leg.inTextMessage = header.opcode == .text && settings.noticeMatcher != nil
            if leg.inTextMessage { leg.noticeText.removeAll(keepingCapacity: true) }
            if leg.assembles { leg.assembly.begin(header.opcode) }
            leg.messageReachesApp = reachesApp
        }
        guard leg.messageReachesApp && reachesApp, !leg.assembles else { return }
        if downstream.sendsBorrowedBytes && raw.count == header.encodedLength {
            downstream.out.appendBorrowed(raw)
        } else {
            downstream.out.commit(header.encode(to: downstream.out.reserve(header.encodedLength)))
        }
        frameOpenTowardApp = true
        leg.messageOpenTowardApp = true
    }

    private func upstreamFramePayload(_ chunk: UnsafeRawBufferPointer, from leg: UpstreamLeg, frameEnd: Bool, messageEnd: Bool) {
        if leg.hashing { leg.hasher.update(chunk) }
        if leg.inTextMessage && leg.noticeText.count + chunk.count <= ProxySession.noticeTextLimit {
            leg.noticeText.append(contentsOf: chunk)
        }
        if leg.assembles {
            leg.assembly.append(chunk)
        } else if leg.messageReachesApp && leg.relaysToApp && !closing.sentToApp && !downstream.isClosed {
            if chunk.count > 0 {
                if downstream.sendsBorrowedBytes { downstream.out.appendBorrowed(chunk) } else { downstream.out.append(chunk) }
                worker.metrics.bytes(.down).add(chunk.count)
            }
            if frameEnd { frameOpenTowardApp = false }
            if messageEnd {
                leg.messageOpenTowardApp = false
                worker.metrics.messages(.down).add()
                messagesDown += 1
            }
        }
        guard messageEnd else { return }
        if leg.inTextMessage, let matcher = settings.noticeMatcher, leg === target || leg.relaysToApp,
           leg.noticeText.withUnsafeBytes({ matcher.matches($0) }) {
            Logger.shared.info("upstream.notice", ["session": .int(Int(id)), "generation": .int(leg.generation)])
            rotate(.serverNotice)
        }
        leg.inTextMessage = false
        if leg.assembles {
            let message = HeldMessage(opcode: leg.assembly.opcode, bytes: leg.assembly.bytes, hash: leg.assembly.bytes.withUnsafeBytes { MessageHasher.hash($0) })
            leg.assembly.isOpen = false
            if splice != nil && leg === spliceNew {
                spliceNewMessage(message)
            } else {
                relayWholeToApp(message.opcode, message.bytes)
            }
            if leg.stopsAssemblingAtMessageEnd {
                leg.stopsAssemblingAtMessageEnd = false
                leg.assembles = false
                leg.assembly.release()
            }
        } else if leg === spliceOld {
            // Every message end of the old connection reaches the splice (a message that began
            // before recording started is not hashed and matches nothing).
            let hash = leg.hashing ? leg.hasher.finalize() : 0
            let length = leg.hashing ? leg.hasher.length : 0
            leg.hashing = false
            spliceOldMessageEnded(hash: hash, length: length)
        }
    }

    /// A text message is kept up to this size for `rotate_on_match`; longer ones never match.
    static let noticeTextLimit = 64 * 1024

    /// One whole message to the app as a single frame (messages a splice held or assembled).
    func relayWholeToApp(_ opcode: Opcode, _ bytes: [UInt8]) {
        guard !closing.sentToApp, !downstream.isClosed else { return }
        let header = FrameHeader(fin: true, opcode: opcode, maskKey: nil, payloadLength: bytes.count)
        downstream.out.commit(header.encode(to: downstream.out.reserve(header.encodedLength)))
        bytes.withUnsafeBytes { downstream.out.append($0) }
        worker.metrics.bytes(.down).add(bytes.count)
        worker.metrics.messages(.down).add()
        messagesDown += 1
    }

    /// A peer's ping is answered by Lifeline itself, ahead of queued data.
    func answerPing(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        let maskKey: UInt32? = connection.role == .upstream ? loop.maskKeys.nextKey() : nil
        withUnsafeTemporaryAllocation(byteCount: ControlFrame.maxEncodedLength, alignment: 8) { frame in
            let length = ControlFrame.encode(opcode: .pong, payload: payload, maskKey: maskKey, to: frame.baseAddress!)
            connection.out.enqueuePong(UnsafeRawBufferPointer(start: frame.baseAddress, count: length))
        }
    }

    /// Writes every queue and reacts to what is left: backpressure, close progress.
    /// Backpressure and close progress are settled once, after every queue was written
    /// (not once per connection): this runs after every read. A connection with nothing
    /// queued and no wait for writability is skipped, since a read usually queues toward one side only.
    func flushAll() {
        if !downstream.isClosed && (downstream.hasWriteWork || phase == .lingering) {
            wrote(downstream, outcome: downstream.flush())
        }
        // The snapshot keeps every leg alive while `wrote` may remove one from `legs`.
        let snapshot = legs
        for index in snapshot.indices {
            unowned(unsafe) let leg = snapshot[index]
            guard leg.connection?.isClosed == false, leg.phase == .open || leg.phase == .closing else { continue }
            unowned(unsafe) let connection = leg.connection!
            if connection.hasWriteWork { wrote(connection, outcome: connection.flush()) }
        }
        if phase == .open {
            applyBackpressure()
            advanceClose()
        }
    }

    /// `afterWrite` without the per-connection backpressure and close pass (`flushAll` does those once).
    private func wrote(_ connection: Connection, outcome: WriteOutcome) {
        if case .failed = outcome {
            connectionLost(connection)
        } else if phase == .lingering && connection === downstream && outcome == .drained {
            downstream.shutdownWrite()
        }
    }

    func afterWrite(_ connection: Connection, outcome: WriteOutcome) {
        wrote(connection, outcome: outcome)
        if case .failed = outcome { return }
        if phase == .open {
            applyBackpressure()
            advanceClose()
        }
    }

    /// A side whose destination holds more than `max_buffered_bytes` stops being read;
    /// it is read again once the destination has drained to half of that.
    private func applyBackpressure() {
        let limit = settings.maxBufferedBytes
        let wasAppPaused = appPausedForBackpressure, wasUpstreamPaused = upstreamPausedForBackpressure
        let upQueued = (target?.connection?.out.queuedBytes ?? 0) + pending.byteCount
        if upQueued > limit { appPausedForBackpressure = true } else if upQueued <= limit / 2 { appPausedForBackpressure = false }
        let downQueued = downstream.out.queuedBytes
        if downQueued > limit { upstreamPausedForBackpressure = true } else if downQueued <= limit / 2 { upstreamPausedForBackpressure = false }
        if appPausedForBackpressure != wasAppPaused || upstreamPausedForBackpressure != wasUpstreamPaused { updateReading() }
    }

    func updateReading() {
        guard phase == .open else { return }
        if !downstream.isClosed { downstream.setReading(!appPausedForBackpressure) }
        for leg in legs where leg.phase == .open || leg.phase == .closing {
            leg.connection?.setReading(!upstreamPausedForBackpressure)
        }
    }
}

/// App frames that arrived while no upstream connection was there to take them: kept in
/// order (fin, opcode, payload) in one growing buffer, sent after the replay.
struct PendingFrames {
    private var bytes: [UInt8] = []
    private var lengthOffset = 0
    private(set) var isMessageOpen = false
    /// Payload bytes waiting.
    private(set) var byteCount = 0

    var isEmpty: Bool { bytes.isEmpty }

    mutating func beginFrame(fin: Bool, opcode: Opcode, length: Int) {
        bytes.append((fin ? 0x80 : 0) | opcode.rawValue)
        lengthOffset = bytes.count
        withUnsafeBytes(of: UInt32(length).littleEndian) { bytes.append(contentsOf: $0) }
        isMessageOpen = !fin
    }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: chunk)
        byteCount += chunk.count
    }

    func forEach(_ body: (Bool, Opcode, UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset + 5 <= raw.count {
                let first = raw[offset]
                let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 1, as: UInt32.self)))
                let payloadStart = offset + 5
                let available = min(length, raw.count - payloadStart)
                body(first & 0x80 != 0, Opcode(rawValue: first & 0x0F) ?? .binary,
                     UnsafeRawBufferPointer(rebasing: raw[payloadStart..<payloadStart + available]))
                offset = payloadStart + available
            }
        }
    }

    mutating func removeAll() {
        bytes = []
        byteCount = 0
        isMessageOpen = false
    }
}
