import Glibc

/// Handshake-phase state of a session: the app's request as it arrives, the upstream
/// attempt, upstream's response as it arrives. Dropped once the relay is open.
struct HandshakeState {
    var requestBytes: [UInt8] = []
    var requestParser = UpgradeRequestParser()
    var request: UpgradeRequest?
    /// App bytes that followed the request head (pipelined frames), relayed once open.
    var pipelinedAppBytes: [UInt8] = []
    var responseBytes: [UInt8] = []
    var responseParser: UpgradeResponseParser?
    var candidates: [SocketAddress] = []
    var lastConnectError = "no address"
}

extension ProxySession {
    func readRequest() {
        let buffer = loop.readBuffer
        switch downstream.read(into: buffer, capacity: loop.readBufferCapacity) {
        case .data(let count):
            handshake.requestBytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: count))
            var parser = handshake.requestParser
            let result = handshake.requestBytes.withUnsafeBytes { parser.parse($0) }
            handshake.requestParser = parser
            switch result {
            case .needMore:
                return
            case .reject(let rejection):
                worker.metrics.handshakeFailure(status: rejection.status)
                Logger.shared.info("downstream.rejected", ["client": .string(peer.description), "status": .int(rejection.status), "reason": .string(rejection.reason)])
                refuse(status: rejection.status, reason: rejection.reason, extraHeaders: rejection.extraHeaders)
            case .request(let request, let headLength):
                handshake.request = request
                handshake.pipelinedAppBytes = Array(handshake.requestBytes[headLength...])
                handshake.requestBytes = []
                downstream.setReading(false)
                connectUpstream()
            }
        case .wouldBlock:
            return
        case .endOfStream, .failed:
            closeEverything()
        }
    }

    /// Resolves the upstream host anew (off the loop when it is a name) and connects.
    func connectUpstream() {
        phase = .connecting
        timer.arm(after: settings.connectTimeout, loop: loop.raw)
        let url = settings.upstreamURL
        Resolver.resolve(host: url.host, port: url.port, on: loop) { [weak self] result in
            guard let self, self.phase == .connecting else { return }
            switch result {
            case .success(let addresses):
                self.handshake.candidates = addresses
                self.connectNextCandidate()
            case .failure(let error):
                self.failUpstreamHandshake(status: 502, reason: error.description)
            }
        }
    }

    func connectNextCandidate() {
        guard !handshake.candidates.isEmpty else {
            failUpstreamHandshake(status: 502, reason: "upstream unreachable: \(handshake.lastConnectError)")
            return
        }
        let address = handshake.candidates.removeFirst()
        do {
            let fd = try Socket.connect(to: address)
            let connection = Connection(fd: fd, role: .upstream, loop: loop, connecting: true)
            connection.session = self
            upstream = connection
        } catch {
            connectAttemptFailed(error)
        }
    }

    func connectAttemptFailed(_ error: SocketError) {
        upstream?.close()
        upstream = nil
        handshake.lastConnectError = error.description
        connectNextCandidate()
    }

    func sendUpstreamRequest() {
        guard let upstream, let request = handshake.request else { return }
        let url = settings.upstreamURL
        let key = WebSocketAccept.makeKey()
        let bytes = UpstreamRequestBuilder.build(
            request: request, target: url.path + request.path, hostHeader: url.hostHeader, key: key,
            clientAddress: peer.host, clientProto: "http", extraHeaders: settings.upstreamHeaders)
        handshake.responseParser = UpgradeResponseParser(expectedAccept: WebSocketAccept.compute(key: key), offeredProtocols: request.subprotocols)
        upstream.out.appendOpaque(bytes)
        phase = .awaitingResponse
        upstream.setReading(true)
        if case .failed(let code) = upstream.flush() {
            failUpstreamHandshake(status: 502, reason: "upstream write failed: \(String(cString: strerror(code)))")
        }
    }

    func readResponse() {
        guard let upstream else { return }
        let buffer = loop.readBuffer
        switch upstream.read(into: buffer, capacity: loop.readBufferCapacity) {
        case .data(let count):
            handshake.responseBytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: count))
            parseResponse(endOfStream: false)
        case .wouldBlock:
            return
        case .endOfStream:
            parseResponse(endOfStream: true)
        case .failed(let code):
            failUpstreamHandshake(status: 502, reason: "upstream read failed: \(String(cString: strerror(code)))")
        }
    }

    private func parseResponse(endOfStream: Bool) {
        guard var parser = handshake.responseParser else { return }
        let result = handshake.responseBytes.withUnsafeBytes { parser.parse($0, eof: endOfStream) }
        handshake.responseParser = parser
        switch result {
        case .needMore:
            if endOfStream { failUpstreamHandshake(status: 502, reason: "upstream closed during the handshake") }
        case .switching(let response, let headLength):
            openRelay(response: response, headLength: headLength)
        case .refused(let response, let body):
            worker.metrics.handshakeFailure(status: response.status)
            worker.metrics.connectFailure(reason: "http_status")
            Logger.shared.info("upstream.refused", ["session": .int(Int(id)), "status": .int(response.status)])
            upstream?.close()
            upstream = nil
            downstream.out.appendOpaque(HTTPResponses.relayed(response, body: body))
            startLingering()
        case .invalid(let reason):
            failUpstreamHandshake(status: 502, reason: "invalid upstream handshake: \(reason)")
        }
    }

    /// Upstream said 101: answer the app, relay whatever already arrived on both sides.
    private func openRelay(response: UpgradeResponse, headLength: Int) {
        guard let request = handshake.request, let upstream else { return }
        phase = .open
        relayOpenedAt = loop.now
        timer.disarm(loop: loop.raw)
        worker.metrics.sessions.add(1)
        worker.metrics.sessionsTotal.add(1)
        worker.metrics.upstreamConnections.add(1)
        upstreamCounted = true
        let accept = WebSocketAccept.compute(key: request.key)
        downstream.out.appendOpaque(HTTPResponses.switchingProtocols(accept: accept, subprotocol: response.subprotocol))
        Logger.shared.info("session.open", [
            "session": .int(Int(id)), "client": .string(peer.description), "path": .string(request.path),
            "subprotocol": response.subprotocol.map { .string($0) } ?? .null,
        ])
        Logger.shared.info("upstream.connected", ["session": .int(Int(id)), "upstream": .string(settings.upstreamURL.original)])
        let fromUpstreamEarly = Array(handshake.responseBytes[headLength...])
        let fromAppEarly = handshake.pipelinedAppBytes
        handshake = HandshakeState()
        startKeepAlive()
        relayEarlyBytes(fromUpstreamEarly, from: upstream)
        relayEarlyBytes(fromAppEarly, from: downstream)
        updateReading()
        flushBoth()
    }

    /// Bytes that arrived with a handshake head go through the normal relay path.
    private func relayEarlyBytes(_ bytes: [UInt8], from source: Connection) {
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
            process(loop.readBuffer, count: carried + chunk, from: source, flush: false)
        }
    }

    func failUpstreamHandshake(status: Int, reason: String) {
        worker.metrics.handshakeFailure(status: status)
        worker.metrics.connectFailure(reason: status == 504 ? "timeout" : "unreachable")
        Logger.shared.warn("upstream.handshake_failed", ["session": .int(Int(id)), "status": .int(status), "reason": .string(reason)])
        upstream?.close()
        upstream = nil
        refuse(status: status, reason: reason)
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
        timer.arm(after: settings.lingerTimeout, loop: loop.raw)
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
