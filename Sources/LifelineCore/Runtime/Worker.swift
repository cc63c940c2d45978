import CLibev
import Glibc

/// One event loop's share of the proxy: its listener, its sessions, its metrics, its
/// keep-alive deadline lists and the configuration its sessions run with. Everything here
/// is confined to the loop's thread; other threads reach it through `loop.post`.
public final class Worker {
    public let loop: EventLoop
    public let metrics = WorkerMetrics()
    public let index: Int
    public private(set) var configuration: Configuration
    private(set) var settings: SessionSettings
    private(set) var keepAlive: KeepAliveScheduler!
    /// TLS contexts for new connections (built by the server, shared by all workers).
    private(set) var tls: TLSContexts
    private let connectionLimit: ConnectionLimit
    private var listener: Listener?
    private var sessions: [UInt64: ProxySession] = [:]
    private var nextSessionID: UInt64
    private let sessionIDStride: UInt64
    public private(set) var isDraining = false
    /// Rate limits for hostile-input log lines: by client address, and by upstream address.
    var downstreamRejectionLog = PeerLogLimiter()
    var upstreamRejectionLog = PeerLogLimiter()
    /// Called (on this loop) once the last session is gone during a drain.
    public var onDrained: (() -> Void)?

    /// - Parameters:
    ///   - index, count: this worker's place among the workers, so session ids never collide.
    ///   - connectionLimit: shared by all workers (`downstream.max_connections`).
    ///   - tls: the contexts `configuration` needs (`TLSContexts.build`); none = plain TCP.
    public init(configuration: Configuration, loop: EventLoop, index: Int = 0, count: Int = 1,
                connectionLimit: ConnectionLimit? = nil, tls: TLSContexts = TLSContexts()) {
        self.configuration = configuration
        self.tls = tls
        self.settings = SessionSettings(configuration)
        self.loop = loop
        self.index = index
        self.connectionLimit = connectionLimit ?? ConnectionLimit(maximum: configuration.downstream.maxConnections)
        nextSessionID = UInt64(index + 1)
        sessionIDStride = UInt64(count)
        keepAlive = KeepAliveScheduler(loop: loop) { connection in
            connection.session.heartbeatDue(connection)
        }
    }

    /// Binds the downstream listener (before the loop's thread starts). Returns the bound address.
    @discardableResult
    public func listen(reusePort: Bool) throws -> SocketAddress {
        try listen(at: Worker.resolveListenAddress(configuration.listen), reusePort: reusePort)
    }

    /// Binds the downstream listener at `address` (before the loop's thread starts).
    @discardableResult
    public func listen(at address: SocketAddress, reusePort: Bool) throws -> SocketAddress {
        let listener = try Listener(address: address, reusePort: reusePort, loop: loop,
            onAccept: { [unowned self] fd, peer in self.accepted(fd: fd, peer: peer) },
            onExhausted: { [unowned self] fd in self.refuse(fd: fd) },
            onError: { error, count in
                Logger.shared.warn("accept.failed", ["error": .string(error.description), "failures": .int(count)])
            })
        listener.start()
        self.listener = listener
        return listener.address
    }

    /// Resolves a listen address (names allowed, at start-up, before the loop runs).
    static func resolveListenAddress(_ hostPort: HostPort) throws -> SocketAddress {
        if let literal = SocketAddress(literalHost: hostPort.host, port: hostPort.port) { return literal }
        switch Resolver.lookUp(host: hostPort.host, port: hostPort.port) {
        case .success(let addresses): return addresses[0]
        case .failure(let error): throw error
        }
    }

    public var sessionCount: Int { sessions.count }

    /// Stops accepting and asks every session to close with 1001 once its queued data is out.
    public func beginDrain() {
        guard !isDraining else { return }
        isDraining = true
        // Closed, not just unwatched: clients arriving now are refused at once instead of
        // waiting in the kernel's accept queue until the process exits.
        listener?.close()
        for session in Array(sessions.values) { session.goAway() }
        if sessions.isEmpty { onDrained?() }
    }

    /// A reloaded configuration (SIGHUP): ping, pong and lifetime settings reach live
    /// sessions; new sessions use all of it. Listener changes need a restart.
    public func apply(_ newConfiguration: Configuration, tls newTLS: TLSContexts? = nil) {
        if let newTLS { tls = newTLS }
        let downstreamChanged = newConfiguration.downstream.heartbeat != configuration.downstream.heartbeat
        let upstreamChanged = newConfiguration.upstream.heartbeat != configuration.upstream.heartbeat
        configuration = newConfiguration
        settings = SessionSettings(newConfiguration)
        if downstreamChanged {
            keepAlive.rebuild(role: .downstream) { $0.session.reconfigureKeepAlive($0, newConfiguration.downstream.heartbeat) }
            for session in sessions.values where session.downstream.heartbeat == nil {
                session.reconfigureKeepAlive(session.downstream, newConfiguration.downstream.heartbeat)
            }
        }
        if upstreamChanged {
            keepAlive.rebuild(role: .upstream) { $0.session.reconfigureKeepAlive($0, newConfiguration.upstream.heartbeat) }
            for session in sessions.values {
                for leg in session.legs where leg.isOpen && leg.connection?.heartbeat == nil {
                    session.reconfigureKeepAlive(leg.connection!, newConfiguration.upstream.heartbeat)
                }
            }
        }
    }

    /// Every session as `/connections` shows it.
    public func snapshots() -> [SessionSnapshot] {
        sessions.values.filter { $0.relayOpenedAt != nil }.map { $0.snapshot() }
    }

    /// Publishes the wall-clock time of this worker's oldest live upstream connection.
    public func refreshOldestUpstream() {
        let oldest = sessions.values.flatMap { session in
            session.legs.compactMap { $0.isOpen ? $0.openedAt : nil }
        }.min()
        metrics.oldestUpstreamConnectedAt.set(oldest.map { ev_time() - (loop.now - $0) } ?? 0)
    }

    private func accepted(fd: Int32, peer: SocketAddress) {
        guard !isDraining, connectionLimit.acquire() else {
            refuse(fd: fd)
            return
        }
        let id = nextSessionID
        nextSessionID += sessionIDStride
        let session = ProxySession(id: id, fd: fd, peer: peer, worker: self)
        sessions[id] = session
        session.start()
    }

    /// Answers a client that cannot be served (over max_connections, draining, out of
    /// descriptors) with 503 and closes its socket.
    private func refuse(fd: Int32) {
        metrics.handshakeFailure(status: 503)
        if tls.downstream != nil {
            Glibc.close(fd) // a TLS client cannot read a plaintext 503
        } else {
            ProxySession.refuse(fd: fd, status: 503, loop: loop)
        }
    }

    func sessionFinished(_ session: ProxySession) {
        guard let removed = sessions.removeValue(forKey: session.id) else { return }
        connectionLimit.release()
        loop.releaseLater(removed)
        if isDraining && sessions.isEmpty { onDrained?() }
    }
}

@available(*, unavailable)
extension Worker: Sendable {}

/// What a session needs from the configuration, computed once per configuration.
struct SessionSettings {
    let upstreamURL: UpstreamURL
    let upstreamHeaders: [HTTPHeader]
    let handshakeTimeout: Double
    let connectTimeout: Double
    let maxMessageBytes: Int
    let maxBufferedBytes: Int
    let replay: ReplaySettings
    /// `upstream.replay.match` and `upstream.rotate_on_match`, compiled once per configuration.
    let replayMatcher: MessageMatcher?
    let noticeMatcher: MessageMatcher?
    let dedupeWindow: Int
    /// How long an old upstream connection may keep delivering after a hand-over: one pong timeout.
    let drainTimeout: Double
    /// How long a close handshake may take before the sockets are closed anyway.
    let closeTimeout: Double = 5
    /// How long a refused client is given to read its HTTP error before the socket closes.
    let lingerTimeout: Double = 2

    init(_ configuration: Configuration) {
        upstreamURL = configuration.upstream.url
        upstreamHeaders = configuration.upstream.headers.map { HTTPHeader(name: $0.name, value: $0.value) }
        handshakeTimeout = configuration.downstream.handshakeTimeoutSeconds
        connectTimeout = configuration.upstream.connectTimeoutSeconds
        maxMessageBytes = configuration.limits.maxMessageBytes
        maxBufferedBytes = configuration.limits.maxBufferedBytes
        replay = configuration.upstream.replay
        replayMatcher = configuration.upstream.replay.match.flatMap { try? MessageMatcher(pattern: $0) }
        noticeMatcher = configuration.upstream.rotateOnMatch.flatMap { try? MessageMatcher(pattern: $0) }
        dedupeWindow = configuration.upstream.dedupeWindow
        drainTimeout = configuration.upstream.heartbeat.pongTimeoutSeconds
    }
}
