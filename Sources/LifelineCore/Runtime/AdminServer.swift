import Glibc

/// The admin HTTP/1.1 server (spec §5) on its own event loop: owns the listening socket and
/// the open admin connections. Each connection reads one request at a time, hands it to the
/// handler, and writes the answer the handler gives through `respond` (at once or later,
/// always on this loop's thread). Never blocks the loop.
///
/// Confined to the loop's thread; create it before the loop runs or on that thread.
public final class AdminServer {
    /// Answers a request by calling the second argument exactly once, on the admin loop.
    public typealias Handler = (AdminRequest, @escaping (AdminResponse) -> Void) -> Void

    /// Connections beyond this many are closed as soon as they are accepted.
    static let maxConnections = 64

    let loop: EventLoop
    let handler: Handler
    /// Seconds a connection may wait for a complete request (and a response may stall) before it is closed.
    let idleTimeout: Double
    private var listener: Listener?
    private var connections: [ObjectIdentifier: AdminServerConnection] = [:]
    /// The bound address (the real port when `address` asked for port 0).
    public private(set) var boundAddress = SocketAddress()

    /// Binds `address` on `loop`; `handler` may answer later (e.g. after asking the worker loops) by calling `respond` on the admin loop.
    public convenience init(address: SocketAddress, loop: EventLoop,
                            handler: @escaping (AdminRequest, @escaping (AdminResponse) -> Void) -> Void) throws {
        try self.init(address: address, loop: loop, idleTimeout: 30, handler: handler)
    }

    init(address: SocketAddress, loop: EventLoop, idleTimeout: Double, handler: @escaping Handler) throws {
        self.loop = loop
        self.handler = handler
        self.idleTimeout = idleTimeout
        let listener = try Listener(address: address, reusePort: false, loop: loop,
            onAccept: { [unowned self] fd, _ in self.accepted(fd: fd) },
            onError: { error, count in
                Logger.shared.warn("admin.accept_failed", ["error": .string(error.description), "failures": .int(count)])
            })
        boundAddress = listener.address
        self.listener = listener
        listener.start()
    }

    deinit {
        for connection in connections.values { connection.close(notifyServer: false) }
    }

    /// Stops accepting, releases the port, and closes every admin connection. Safe from a
    /// handler (connections are released after the current callback).
    public func stop() {
        listener?.close()
        listener = nil
        for connection in connections.values {
            connection.close(notifyServer: false)
            loop.releaseLater(connection)
        }
        connections.removeAll()
    }

    private func accepted(fd: Int32) {
        guard connections.count < AdminServer.maxConnections else {
            Glibc.close(fd)
            return
        }
        let connection = AdminServerConnection(fd: fd, server: self, loop: loop)
        connections[ObjectIdentifier(connection)] = connection
        connection.start()
    }

    /// Called by a connection that closed itself; it is released after the current callback.
    func connectionClosed(_ connection: AdminServerConnection) {
        guard let removed = connections.removeValue(forKey: ObjectIdentifier(connection)) else { return }
        loop.releaseLater(removed)
    }
}

@available(*, unavailable)
extension AdminServer: Sendable {}
