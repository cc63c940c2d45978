import Glibc

/// The HTTP side of a session: the app's upgrade request, and the upgrade handshake of
/// every upstream connection (the first one, whose outcome the app hears as an HTTP
/// status, and each replacement, whose outcome goes to the hand-over state machine).
extension ProxySession {
    func readRequest() {
        let buffer = loop.readBuffer
        switch downstream.read(into: buffer, capacity: loop.readBufferCapacity) {
        case .data(let count):
            requestBytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: count))
            var parser = requestParser
            let result = requestBytes.withUnsafeBytes { parser.parse($0) }
            requestParser = parser
            switch result {
            case .needMore:
                return
            case .reject(let rejection):
                reject(rejection)
            case .request(let parsed, let headLength):
                request = parsed
                pipelinedAppBytes = Array(requestBytes[headLength...])
                requestBytes = []
                downstream.setReading(false)
                phase = .connectingFirst
                rearmTimer()
                connect(UpstreamLeg(generation: 1, session: self, maxMessageBytes: settings.maxMessageBytes))
            }
        case .wouldBlock:
            return
        case .endOfStream, .failed:
            closeEverything()
        }
    }

    /// Starts a new upstream connection: resolves the host anew (off the loop when it is a
    /// name), then connects to each address in turn.
    func connect(_ leg: UpstreamLeg) {
        legs.append(leg)
        leg.phase = .resolving
        leg.arm(at: loop.now + settings.connectTimeout)
        let url = settings.upstreamURL
        // The session is held (strongly) until the lookup reports and the leg is found by its
        // generation: a weak reference would give the session and the leg a side table, and
        // every retain and release of them on the relay path would take the slow path.
        let generation = leg.generation
        Resolver.resolve(host: url.host, port: url.port, on: loop) { [self] result in
            guard phase != .finished, let leg = legs.first(where: { $0.generation == generation }),
                  leg.phase == .resolving else { return }
            switch result {
            case .success(let addresses):
                leg.candidates = addresses
                connectNextCandidate(leg)
            case .failure(let error):
                legFailed(leg, status: 502, reason: error.description)
            }
        }
    }

    func connectNextCandidate(_ leg: UpstreamLeg) {
        guard !leg.candidates.isEmpty else {
            legFailed(leg, status: 502, reason: "upstream unreachable: \(leg.lastConnectError)")
            return
        }
        let address = leg.candidates.removeFirst()
        leg.address = address
        leg.phase = .connecting
        do {
            let fd = try Socket.connect(to: address)
            let connection = Connection(fd: fd, role: .upstream, loop: loop, connecting: true, tls: worker.tls.upstream)
            connection.session = self
            leg.connection = connection
        } catch {
            connectAttemptFailed(leg, error)
        }
    }

    func connectAttemptFailed(_ leg: UpstreamLeg, _ error: SocketError) {
        leg.connection?.close()
        leg.connection = nil
        leg.lastConnectError = error.description
        connectNextCandidate(leg)
    }

    func sendUpstreamRequest(_ leg: UpstreamLeg) {
        guard let connection = leg.connection, let request else { return }
        let url = settings.upstreamURL
        let key = WebSocketAccept.makeKey()
        let bytes = UpstreamRequestBuilder.build(
            request: request, target: url.path + request.path, hostHeader: url.hostHeader, key: key,
            clientAddress: peer.host, clientProto: downstream.isTLS ? "https" : "http", extraHeaders: settings.upstreamHeaders)
        leg.responseParser = UpgradeResponseParser(expectedAccept: WebSocketAccept.compute(key: key), offeredProtocols: request.subprotocols)
        connection.out.appendOpaque(bytes)
        leg.phase = .awaitingResponse
        connection.setReading(true)
        if case .failed(let code) = connection.flush() {
            legFailed(leg, status: 502, reason: "upstream write failed: \(String(cString: strerror(code)))")
        }
    }

    func readResponse(_ leg: UpstreamLeg) {
        guard let connection = leg.connection else { return }
        let buffer = loop.readBuffer
        switch connection.read(into: buffer, capacity: loop.readBufferCapacity) {
        case .data(let count):
            leg.responseBytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: count))
            parseResponse(leg, endOfStream: false)
        case .wouldBlock:
            return
        case .endOfStream:
            parseResponse(leg, endOfStream: true)
        case .failed(let code):
            legFailed(leg, status: 502, reason: "upstream read failed: \(String(cString: strerror(code)))")
        }
    }

    private func parseResponse(_ leg: UpstreamLeg, endOfStream: Bool) {
        guard var parser = leg.responseParser else { return }
        let result = leg.responseBytes.withUnsafeBytes { parser.parse($0, eof: endOfStream) }
        leg.responseParser = parser
        switch result {
        case .needMore:
            if endOfStream { legFailed(leg, status: 502, reason: "upstream closed during the handshake") }
        case .switching(let response, let headLength):
            legOpened(leg, response: response, headLength: headLength)
        case .refused(let response, let body):
            legRefused(leg, response: response, body: body)
        case .invalid(let input, let reason):
            legFailed(leg, status: 502, reason: "invalid upstream handshake: \(reason)", rejected: input)
        }
    }

    /// A leg's connect deadline (while connecting) or rotation age (once open) has come.
    func legDeadlinePassed(_ leg: UpstreamLeg) {
        switch leg.phase {
        case .resolving, .connecting:
            legFailed(leg, status: 504, reason: "upstream did not complete the handshake within \(settings.connectTimeout) s")
        case .awaitingResponse:
            legFailed(leg, status: 504, reason: "upstream did not complete its handshake response within \(settings.connectTimeout) s",
                      rejected: .responseTimeout)
        case .open:
            rotate(.lifetime)
        case .closing:
            removeLeg(leg) // it never answered our close
            finishIfAllClosed()
        case .closed:
            break
        }
    }

    /// Upstream said 101.
    private func legOpened(_ leg: UpstreamLeg, response: UpgradeResponse, headLength: Int) {
        guard let connection = leg.connection else { return }
        leg.phase = .open
        leg.openedAt = loop.now
        leg.countedAsConnection = true
        worker.metrics.upstreamConnections.add(1)
        let early = Array(leg.responseBytes[headLength...])
        leg.responseBytes = []
        leg.responseParser = nil
        startKeepAlive(on: connection, settings: worker.configuration.upstream.heartbeat)
        Logger.shared.info("upstream.connected", ["session": .int(Int(id)), "generation": .int(leg.generation), "upstream": .string(settings.upstreamURL.original)])
        if phase == .connectingFirst {
            openRelay(leg, response: response)
        } else if var handover {
            let actions = handover.connected(leg.generation, now: loop.now)
            self.handover = handover
            perform(actions)
        }
        scheduleRotation(leg)
        if !early.isEmpty && leg.isOpen { relayEarlyBytes(early, from: connection, leg: leg) }
        flushAll()
    }

    /// The first upstream connection is up: answer the app and start relaying.
    private func openRelay(_ leg: UpstreamLeg, response: UpgradeResponse) {
        guard let request else { return }
        phase = .open
        relayOpenedAt = loop.now
        target = leg
        handover = UpstreamHandover(reconnect: worker.configuration.upstream.reconnect, drainTimeout: settings.drainTimeout)
        worker.metrics.sessions.add(1)
        worker.metrics.sessionsTotal.add(1)
        let accept = WebSocketAccept.compute(key: request.key)
        downstream.out.appendOpaque(HTTPResponses.switchingProtocols(accept: accept, subprotocol: response.subprotocol))
        Logger.shared.info("session.open", [
            "session": .int(Int(id)), "client": .string(peer.description), "path": .string(request.path),
            "subprotocol": response.subprotocol.map { .string($0) } ?? .null,
        ])
        startKeepAlive(on: downstream, settings: worker.configuration.downstream.heartbeat)
        rearmTimer()
        let early = pipelinedAppBytes
        pipelinedAppBytes = []
        relayEarlyBytes(early, from: downstream, leg: nil)
        updateReading()
    }

    /// Bytes that arrived with a handshake head go through the normal relay path.
    /// - Parameter leg: `source`'s upstream leg, nil when `source` is the app's connection.
    func relayEarlyBytes(_ bytes: [UInt8], from source: Connection, leg: UpstreamLeg?) {
        var offset = 0
        while offset < bytes.count && phase == .open && !source.isClosed {
            let carried = source.carry.count
            let chunk = min(bytes.count - offset, loop.readBufferCapacity - carried)
            if carried > 0 {
                loop.readBuffer.copyMemory(from: source.carry.bytes!, byteCount: carried)
                source.carry.clear()
            }
            bytes.withUnsafeBytes { (loop.readBuffer + carried).copyMemory(from: $0.baseAddress! + offset, byteCount: chunk) }
            offset += chunk
            process(loop.readBuffer, count: carried + chunk, from: source, leg: leg, flush: false)
        }
    }

    private func legRefused(_ leg: UpstreamLeg, response: UpgradeResponse, body: [UInt8]) {
        worker.metrics.handshakeFailure(status: response.status)
        worker.metrics.connectFailure(reason: "http_status")
        Logger.shared.info("upstream.refused", ["session": .int(Int(id)), "generation": .int(leg.generation), "status": .int(response.status)])
        if phase == .connectingFirst {
            removeLeg(leg)
            downstream.out.appendOpaque(HTTPResponses.relayed(response, body: body))
            startLingering()
        } else {
            replacementFailed(leg, refusedStatus: response.status)
        }
    }

    /// A connection attempt failed (unreachable, timed out, bad handshake). A failure caused by
    /// upstream's handshake response (`rejected`) is also counted in
    /// `lifeline_rejected_inputs_total{side="upstream"}` and logged at most once a minute per
    /// upstream address; other failures are logged every time.
    func legFailed(_ leg: UpstreamLeg, status: Int, reason: String, failure: String? = nil, rejected: RejectedInput? = nil) {
        guard leg.phase != .closed else { return }
        worker.metrics.connectFailure(reason: failure ?? (status == 504 ? "timeout" : "unreachable"))
        if let rejected {
            worker.metrics.rejectedInputs(.upstream, rejected).add()
            let upstreamHost = leg.address?.host ?? settings.upstreamURL.host
            if case .log(let suppressed) = worker.upstreamRejectionLog.admit(upstreamHost, now: loop.now) {
                Logger.shared.warn("upstream.handshake_failed", [
                    "session": .int(Int(id)), "generation": .int(leg.generation), "upstream": .string(upstreamHost),
                    "status": .int(status), "input": .string(rejected.label), "reason": .string(reason),
                    "suppressed": .int(suppressed),
                ])
            }
        } else {
            Logger.shared.warn("upstream.handshake_failed", ["session": .int(Int(id)), "generation": .int(leg.generation), "status": .int(status), "reason": .string(reason)])
        }
        if phase == .connectingFirst {
            worker.metrics.handshakeFailure(status: status)
            removeLeg(leg)
            refuse(status: status, reason: reason)
        } else {
            replacementFailed(leg, refusedStatus: nil)
        }
    }

    /// Refuses the app's request: counts it (`lifeline_handshake_failures_total{status}`,
    /// `lifeline_rejected_inputs_total{side="downstream"}`), logs it at most once a minute per
    /// client IP (the next line says how many were held back), answers and closes.
    func reject(_ rejection: HTTPRejection) {
        worker.metrics.handshakeFailure(status: rejection.status)
        worker.metrics.rejectedInputs(.downstream, rejection.input).add()
        if case .log(let suppressed) = worker.downstreamRejectionLog.admit(peer.host, now: loop.now) {
            Logger.shared.info("downstream.rejected", [
                "client": .string(peer.description), "status": .int(rejection.status),
                "input": .string(rejection.input.label), "reason": .string(rejection.reason), "suppressed": .int(suppressed),
            ])
        }
        refuse(status: rejection.status, reason: rejection.reason, extraHeaders: rejection.extraHeaders)
    }

    /// Answers the app with an HTTP error and closes once it is written.
    func refuse(status: Int, reason: String, extraHeaders: [HTTPHeader] = []) {
        downstream.out.appendOpaque(HTTPResponses.error(status: status, body: reason + "\n", extraHeaders: extraHeaders))
        startLingering()
    }

    /// Writes what is queued, then half-closes and reads until the client closes too
    /// (or the linger timeout), so the client reads the response instead of a reset.
    func startLingering() {
        phase = .lingering
        lingerDeadline = loop.now + settings.lingerTimeout
        rearmTimer()
        downstream.setReading(true)
        afterWrite(downstream, outcome: downstream.flush())
    }

    func discardInput(_ connection: Connection) {
        switch connection.read(into: loop.readBuffer, capacity: loop.readBufferCapacity) {
        case .data, .wouldBlock: return
        case .endOfStream, .failed: closeEverything()
        }
    }
}
