import Glibc

/// The open session's data path. Every read lands in the loop's shared buffer, is
/// decoded in place and re-encoded straight into the other side's outbound queue:
/// app frames are unmasked and re-masked with a fresh key in one pass, upstream
/// frames are copied as they are. Nothing is allocated per message. Only an
/// incomplete header or control frame is carried to the next read.
extension ProxySession {
    func relay(from source: Connection) {
        let inputFinished = source === downstream ? closing.receivedFromApp : closing.receivedFromUpstream
        let buffer = loop.readBuffer
        let carried = inputFinished ? 0 : source.carry.count
        switch source.read(into: buffer + carried, capacity: loop.readBufferCapacity - carried) {
        case .data(let count):
            if inputFinished { return } // after its close frame a peer has nothing more to say
            if carried > 0 {
                buffer.copyMemory(from: source.carry.bytes!, byteCount: carried)
                source.carry.clear()
            }
            process(buffer, count: carried + count, from: source, flush: true)
        case .wouldBlock:
            return
        case .endOfStream, .failed:
            connectionLost(source)
        }
    }

    /// Decodes `count` bytes from `source` and relays them; keeps an incomplete tail.
    func process(_ bytes: UnsafeMutableRawPointer, count: Int, from source: Connection, flush: Bool) {
        let consumed = source === downstream ? relayFromApp(bytes, count) : relayFromUpstream(bytes, count)
        if consumed < count && !source.isClosed {
            source.carry.store(UnsafeRawBufferPointer(start: bytes + consumed, count: count - consumed))
        }
        if flush { flushBoth() }
    }

    /// App → upstream. Returns the bytes consumed.
    private func relayFromApp(_ bytes: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var offset = 0
        while true {
            let (event, used) = fromApp.next(UnsafeMutableRawBufferPointer(start: bytes + offset, count: count - offset))
            offset += used
            switch event {
            case .needMore:
                return offset
            case .dataHeader(let header):
                guard let upstream, canSend(to: upstream, sentClose: closing.sentToUpstream) else { continue }
                upstreamMaskKey = loop.maskKeys.nextKey()
                upstreamMaskOffset = 0
                let outgoing = FrameHeader(fin: header.fin, opcode: header.opcode, maskKey: upstreamMaskKey, payloadLength: header.payloadLength)
                upstream.out.commit(outgoing.encode(to: upstream.out.reserve(outgoing.encodedLength)))
                frameOpenTowardUpstream = true
            case .dataPayload(let chunk, let frameEnd, let messageEnd):
                guard let upstream, canSend(to: upstream, sentClose: closing.sentToUpstream) else { continue }
                if chunk.count > 0 {
                    let destination = upstream.out.reserve(chunk.count)
                    Masking.copy(from: chunk.baseAddress!, to: destination, count: chunk.count, key: upstreamMaskKey, offset: upstreamMaskOffset)
                    upstream.out.commit(chunk.count)
                    upstreamMaskOffset += chunk.count
                    worker.metrics.bytes(.up).add(chunk.count)
                }
                if frameEnd { frameOpenTowardUpstream = false }
                if messageEnd { worker.metrics.messages(.up).add(); messagesUp += 1 }
            case .control(let header, let payload):
                switch header.opcode {
                case .ping:
                    if !closing.sentToApp { answerPing(UnsafeRawBufferPointer(payload), on: downstream) }
                case .close:
                    appSentClose(UnsafeRawBufferPointer(payload))
                    return count
                case .pong:
                    pongArrived(UnsafeRawBufferPointer(payload), on: downstream)
                default:
                    break
                }
            case .failure(let code, let reason):
                appViolatedProtocol(code, reason: reason)
                return count
            }
        }
    }

    /// Upstream → app. Returns the bytes consumed.
    private func relayFromUpstream(_ bytes: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var offset = 0
        while true {
            let (event, used) = fromUpstream.next(UnsafeMutableRawBufferPointer(start: bytes + offset, count: count - offset))
            offset += used
            switch event {
            case .needMore:
                return offset
            case .dataHeader(let header):
                guard canSend(to: downstream, sentClose: closing.sentToApp) else { continue }
                downstream.out.commit(header.encode(to: downstream.out.reserve(header.encodedLength)))
                frameOpenTowardApp = true
            case .dataPayload(let chunk, let frameEnd, let messageEnd):
                guard canSend(to: downstream, sentClose: closing.sentToApp) else { continue }
                if chunk.count > 0 {
                    downstream.out.append(UnsafeRawBufferPointer(chunk))
                    worker.metrics.bytes(.down).add(chunk.count)
                }
                if frameEnd { frameOpenTowardApp = false }
                if messageEnd { worker.metrics.messages(.down).add(); messagesDown += 1 }
            case .control(let header, let payload):
                switch header.opcode {
                case .ping:
                    if let upstream, !closing.sentToUpstream { answerPing(UnsafeRawBufferPointer(payload), on: upstream) }
                case .close:
                    upstreamSentClose(UnsafeRawBufferPointer(payload))
                    return count
                case .pong:
                    if let upstream { pongArrived(UnsafeRawBufferPointer(payload), on: upstream) }
                default:
                    break
                }
            case .failure(let code, let reason):
                upstreamViolatedProtocol(code, reason: reason)
                return count
            }
        }
    }

    @inline(__always)
    private func canSend(to connection: Connection, sentClose: Bool) -> Bool {
        !sentClose && !connection.isClosed
    }

    /// A peer's ping is answered by Lifeline itself, ahead of queued data.
    func answerPing(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        let maskKey: UInt32? = connection.role == .upstream ? loop.maskKeys.nextKey() : nil
        withUnsafeTemporaryAllocation(byteCount: ControlFrame.maxEncodedLength, alignment: 8) { frame in
            let length = ControlFrame.encode(opcode: .pong, payload: payload, maskKey: maskKey, to: frame.baseAddress!)
            connection.out.enqueueControl(UnsafeRawBufferPointer(start: frame.baseAddress, count: length))
        }
    }

    /// Writes both queues and reacts to what is left: backpressure, close progress.
    func flushBoth() {
        if !downstream.isClosed { afterWrite(downstream, outcome: downstream.flush()) }
        if let upstream, !upstream.isClosed { afterWrite(upstream, outcome: upstream.flush()) }
    }

    func afterWrite(_ connection: Connection, outcome: WriteOutcome) {
        if case .failed = outcome {
            connectionLost(connection)
            return
        }
        switch phase {
        case .lingering:
            if connection === downstream && outcome == .drained { downstream.shutdownWrite() }
        case .open:
            applyBackpressure()
            advanceClose()
        default:
            break
        }
    }

    /// A side whose destination holds more than `max_buffered_bytes` stops being read;
    /// it is read again once the destination has drained to half of that.
    private func applyBackpressure() {
        let limit = settings.maxBufferedBytes
        if let upstream {
            let queued = upstream.out.queuedBytes
            if queued > limit { appPausedForBackpressure = true } else if queued <= limit / 2 { appPausedForBackpressure = false }
        }
        let queued = downstream.out.queuedBytes
        if queued > limit { upstreamPausedForBackpressure = true } else if queued <= limit / 2 { upstreamPausedForBackpressure = false }
        updateReading()
    }

    func updateReading() {
        guard phase == .open else { return }
        if !downstream.isClosed { downstream.setReading(!appPausedForBackpressure) }
        if let upstream, !upstream.isClosed { upstream.setReading(!upstreamPausedForBackpressure) }
    }
}
