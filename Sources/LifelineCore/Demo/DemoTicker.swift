import CLibev

/// The demo's upstream: a broadcast ticker on loopback. Owns its listener, its connections
/// and one global sequence `{"seq":N}` that advances at `rate` messages per second whether
/// or not anyone listens. Every connection that has sent the subscribe message gets every
/// message from the next one on, byte-identical across connections: a market-data style
/// feed, which is what make-before-break rotation with de-duplication is built for.
/// Answers pings with pongs and a close frame with a close frame, then closes.
final class DemoTicker {
    /// The message a client sends to start receiving the sequence.
    static let subscribe = #"{"op":"subscribe"}"#
    /// How often the broadcast timer fires; each tick sends what the rate says is due.
    static let tickInterval = 0.01

    let loop: EventLoop
    let rate: Double
    /// The sequence number last broadcast.
    private(set) var lastSeq = 0
    /// Connections accepted so far (one per Lifeline upstream connection).
    private(set) var connectionsAccepted = 0
    private var listener: Listener!
    private var connections: [Int: DemoTickerConnection] = [:]
    private var timer: TimerWatcher!
    private var startedAt = 0.0

    /// Binds 127.0.0.1 on an ephemeral port; `start()` begins the sequence.
    init(loop: EventLoop, rate: Double) throws {
        self.loop = loop
        self.rate = rate
        listener = try Listener(address: SocketAddress(literalHost: "127.0.0.1", port: 0)!, reusePort: false, loop: loop,
                                onAccept: { [unowned self] fd, _ in self.accepted(fd) },
                                onError: { _, _ in })
        timer = TimerWatcher(owner: self, callback: demoTickerTimerCallback)
    }

    deinit { timer.free(loop: loop.raw) }

    var address: SocketAddress { listener.address }

    func start() {
        startedAt = loop.now
        listener.start()
        timer.arm(after: DemoTicker.tickInterval, loop: loop.raw)
    }

    private func accepted(_ fd: Int32) {
        connectionsAccepted += 1
        let id = connectionsAccepted
        let connection = DemoTickerConnection(socket: DemoSocket(fd: fd, loop: loop))
        connection.socket.onClosed = { [unowned self] in
            if let gone = connections.removeValue(forKey: id) { loop.releaseLater(gone) }
        }
        connections[id] = connection
    }

    fileprivate func tick() {
        let due = Int((loop.now - startedAt) * rate)
        while lastSeq < due {
            lastSeq += 1
            let frame = DemoFrames.text(#"{"seq":\#(lastSeq)}"#, masked: false)
            for connection in connections.values where connection.isSubscribed { connection.socket.send(frame) }
        }
        timer.arm(after: DemoTicker.tickInterval, loop: loop.raw)
    }
}

@available(*, unavailable)
extension DemoTicker: Sendable {}

private let demoTickerTimerCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<DemoTicker>.fromOpaque(watcher!.pointee.data!).takeUnretainedValue().tick()
}

/// One ticker connection: its socket, its HTTP upgrade, then its frames; owns whether it
/// has subscribed.
final class DemoTickerConnection {
    let socket: DemoSocket
    private(set) var isSubscribed = false
    private var request = UpgradeRequestParser()
    private var reader: DemoFrameReader?

    init(socket: DemoSocket) {
        self.socket = socket
        socket.onData = { [unowned self] in self.received() }
    }

    private func received() {
        if reader == nil && !upgrade() { return }
        reader!.read(&socket.inbound) { event in
            switch event {
            case .message(.text, let bytes) where String(decoding: bytes, as: UTF8.self) == DemoTicker.subscribe:
                isSubscribed = true
            case .message:
                break
            case .ping(let payload):
                socket.send(DemoFrames.encode(.pong, payload, masked: false))
            case .pong:
                break
            case .close(let code):
                isSubscribed = false
                socket.send(DemoFrames.close(code: code ?? 1000, masked: false))
                socket.closeWhenFlushed()
            case .failure:
                socket.close()
            }
        }
    }

    /// Completes the handshake once the request head is in; false while it is not (or was refused).
    private func upgrade() -> Bool {
        let result = socket.inbound.withUnsafeBytes { request.parse($0) }
        switch result {
        case .needMore:
            return false
        case .reject(let rejection):
            socket.send(HTTPResponses.error(status: rejection.status, body: rejection.reason, extraHeaders: rejection.extraHeaders))
            socket.closeWhenFlushed()
            return false
        case .request(let head, let headLength):
            socket.inbound.removeFirst(headLength)
            socket.send(HTTPResponses.switchingProtocols(accept: WebSocketAccept.compute(key: head.key), subprotocol: nil))
            reader = DemoFrameReader(role: .server)
            return true
        }
    }
}
