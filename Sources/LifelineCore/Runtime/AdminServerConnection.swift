import CLibev
import Glibc

/// One admin client connection: owns its socket, its watcher and timer, the bytes received
/// but not yet served, and the response being written. Serves strictly one request at a time
/// (pipelined ones wait in `inbound`); reading pauses while the handler works. A response
/// that ends the connection is followed by a short linger that drains the peer's bytes, so a
/// close never turns into a reset that could destroy the answer in flight.
final class AdminServerConnection {
    private enum State { case reading, awaitingResponse, writing, lingering, closed }

    /// Most bytes taken per read (pipelined requests wait, so this bounds `inbound`).
    static let readChunk = 16 * 1024
    /// Seconds to drain the peer after the last response before closing anyway.
    static let lingerTimeout = 2.0

    let fd: Int32
    unowned(unsafe) let server: AdminServer
    let loop: EventLoop
    private var watcher: IOWatcher!
    private var timer: TimerWatcher!
    private var state = State.reading
    private var inbound: [UInt8] = []
    private var scanner = HeadScanner(maxHeadBytes: AdminServerRequestParser.maxHeadBytes)
    private var outbound: [UInt8] = []
    private var written = 0
    private var closeAfterResponse = false
    private var answeringHead = false
    /// Tells a late `respond` which request it answers.
    private var generation = 0
    /// `serveBuffered` is on the stack (a handler answered synchronously).
    private var serving = false

    init(fd: Int32, server: AdminServer, loop: EventLoop) {
        self.fd = fd
        self.server = server
        self.loop = loop
        watcher = IOWatcher(owner: self, fd: fd, callback: adminConnectionCallback)
        timer = TimerWatcher(owner: self, callback: adminConnectionTimerCallback)
    }

    deinit {
        close(notifyServer: false)
        watcher.free(loop: loop.raw)
        timer.free(loop: loop.raw)
    }

    func start() {
        timer.arm(after: server.idleTimeout, loop: loop.raw)
        updateInterest()
    }

    /// Stops the watchers and closes the socket; safe to call twice.
    func close(notifyServer: Bool = true) {
        guard state != .closed else { return }
        state = .closed
        watcher.watch(0, loop: loop.raw)
        timer.disarm(loop: loop.raw)
        Glibc.close(fd)
        inbound = []
        outbound = []
        if notifyServer { server.connectionClosed(self) }
    }

    fileprivate func handle(_ events: Int32) {
        switch state {
        case .writing where events & IOEvents.write != 0: flush()
        case .reading where events & IOEvents.read != 0: receive()
        case .lingering where events & IOEvents.read != 0: discard()
        default: break
        }
    }

    fileprivate func timedOut() { close() }

    private func receive() {
        let count = Glibc.read(fd, loop.readBuffer, min(loop.readBufferCapacity, Self.readChunk))
        if count > 0 {
            inbound.append(contentsOf: UnsafeRawBufferPointer(start: loop.readBuffer, count: count))
            serveBuffered()
        } else if count == 0 || !Self.isTransient(errno) {
            close()
        }
    }

    /// Serves every complete request already received, one after the other, as long as each is
    /// answered at once; stops at an incomplete one or while a handler has yet to answer.
    private func serveBuffered() {
        guard !serving else { return }
        serving = true
        defer { serving = false }
        scanning: while state == .reading {
            switch inbound.withUnsafeBytes({ scanner.scan($0) }) {
            case .needMore:
                break scanning
            case .tooLarge:
                refuse(431, "request head too large")
            case .nul, .bareCR, .bareLF:
                refuse(400, "malformed request head")
            case .complete(let end):
                let outcome = inbound.withUnsafeBytes { AdminServerRequestParser.parse($0, headEnd: end) }
                inbound.removeFirst(end)
                scanner = HeadScanner(maxHeadBytes: AdminServerRequestParser.maxHeadBytes)
                switch outcome {
                case .reject(let status, let reason): refuse(status, reason)
                case .request(let parsed): dispatch(parsed)
                }
            }
        }
        updateInterest()
    }

    private func dispatch(_ parsed: AdminServerRequestParser.Parsed) {
        closeAfterResponse = !parsed.keepAlive || parsed.hasBody
        answeringHead = parsed.request.method == "HEAD"
        guard parsed.request.method == "GET" || answeringHead else {
            var response = AdminResponse.text(405, "method not allowed\n")
            response.headers = [HTTPHeader(name: "Allow", value: "GET, HEAD")]
            send(response)
            return
        }
        state = .awaitingResponse
        generation &+= 1
        let generation = self.generation
        server.handler(parsed.request) { [weak self] response in
            self?.respond(response, generation: generation)
        }
    }

    private func respond(_ response: AdminResponse, generation: Int) {
        guard state == .awaitingResponse, generation == self.generation else { return }
        send(response)
    }

    private func refuse(_ status: Int, _ reason: String) {
        closeAfterResponse = true
        answeringHead = false
        send(.text(status, reason + "\n"))
    }

    private func send(_ response: AdminResponse) {
        outbound = response.serialized(includeBody: !answeringHead, closing: closeAfterResponse)
        written = 0
        state = .writing
        flush()
    }

    private func flush() {
        var progressed = false
        while written < outbound.count {
            let count = outbound.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                written += count
                progressed = true
                continue
            }
            let code = count < 0 ? errno : EPIPE
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else {
                close()
                return
            }
            if progressed { timer.arm(after: server.idleTimeout, loop: loop.raw) }
            updateInterest()
            return
        }
        outbound = []
        if closeAfterResponse {
            linger()
        } else {
            state = .reading
            timer.arm(after: server.idleTimeout, loop: loop.raw)
            serveBuffered()
        }
    }

    private func linger() {
        state = .lingering
        inbound = []
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        timer.arm(after: Self.lingerTimeout, loop: loop.raw)
        updateInterest()
    }

    private func discard() {
        let count = Glibc.read(fd, loop.readBuffer, loop.readBufferCapacity)
        if count == 0 || (count < 0 && !Self.isTransient(errno)) { close() }
    }

    private func updateInterest() {
        switch state {
        case .reading, .lingering: watcher.watch(IOEvents.read, loop: loop.raw)
        case .writing: watcher.watch(IOEvents.write, loop: loop.raw)
        case .awaitingResponse: watcher.watch(0, loop: loop.raw)
        case .closed: break
        }
    }

    private static func isTransient(_ code: Int32) -> Bool {
        code == EAGAIN || code == EWOULDBLOCK || code == EINTR
    }
}

@available(*, unavailable)
extension AdminServerConnection: Sendable {}

private let adminConnectionCallback: lifeline_ev_io_cb = { _, watcher, events in
    Unmanaged<AdminServerConnection>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.handle(events) }
}

private let adminConnectionTimerCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<AdminServerConnection>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.timedOut() }
}
