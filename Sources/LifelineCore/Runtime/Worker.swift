import Glibc

/// One event loop's share of the proxy: its listener, its sessions and the configuration
/// they run with. Everything here is confined to the loop's thread.
public final class Worker {
    public let loop: EventLoop
    public private(set) var configuration: Configuration
    let settings: SessionSettings
    private var listener: Listener?
    private var sessions: [UInt64: ProxySession] = [:]
    private var nextSessionID: UInt64
    private let sessionIDStride: UInt64
    public var stats = RelayStats()
    public private(set) var isDraining = false

    /// - Parameters:
    ///   - index/count: this worker's place among the workers, so session ids never collide.
    public init(configuration: Configuration, loop: EventLoop, index: Int = 0, count: Int = 1) {
        self.configuration = configuration
        self.settings = SessionSettings(configuration)
        self.loop = loop
        nextSessionID = UInt64(index + 1)
        sessionIDStride = UInt64(count)
    }

    /// Binds the downstream listener. Returns the bound address (port 0 resolved).
    @discardableResult
    public func listen(reusePort: Bool) throws -> SocketAddress {
        let address = try Worker.resolveListenAddress(configuration.listen)
        let listener = try Listener(address: address, reusePort: reusePort, loop: loop,
            onAccept: { [unowned self] fd, peer in self.accepted(fd: fd, peer: peer) },
            onError: { error in Logger.shared.warn("accept.failed", ["error": .string(error.description)]) })
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
        listener?.stop()
        for session in sessions.values { session.goAway() }
    }

    private func accepted(fd: Int32, peer: SocketAddress) {
        guard sessions.count < configuration.downstream.maxConnections, !isDraining else {
            ProxySession.refuse(fd: fd, status: 503, loop: loop)
            return
        }
        let id = nextSessionID
        nextSessionID += sessionIDStride
        let session = ProxySession(id: id, fd: fd, peer: peer, worker: self)
        sessions[id] = session
        stats.sessionsOpened += 1
        session.start()
    }

    func sessionFinished(_ session: ProxySession) {
        guard let removed = sessions.removeValue(forKey: session.id) else { return }
        loop.releaseLater(removed)
        if isDraining && sessions.isEmpty { onDrained?() }
    }

    /// Called once the last session is gone during a drain.
    public var onDrained: (() -> Void)?
}

@available(*, unavailable)
extension Worker: Sendable {}

/// Counters of what this worker relayed (the metrics registry reads them).
public struct RelayStats {
    public var sessionsOpened = 0
    public var messagesUp = 0
    public var messagesDown = 0
    public var bytesUp = 0
    public var bytesDown = 0
}

/// What a session needs from the configuration, computed once per configuration.
struct SessionSettings {
    let upstreamURL: UpstreamURL
    let upstreamHeaders: [HTTPHeader]
    let handshakeTimeout: Double
    let connectTimeout: Double
    let maxMessageBytes: Int
    let maxBufferedBytes: Int
    let onClose: OnClose
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
        onClose = configuration.upstream.onClose
    }
}
