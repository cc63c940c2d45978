import CLibev
import Glibc

/// Owns one socket: its fd, its libev watcher, its outbound queue, and the few bytes of
/// a frame header split across reads. It moves bytes and reports events to its session;
/// it never interprets them. The only code that reads or writes the fd.
final class Connection {
    enum Role: String { case downstream, upstream }

    let fd: Int32
    let role: Role
    let loop: EventLoop
    /// Receives this connection's events; set right after creation, outlives the connection.
    unowned(unsafe) var session: ProxySession!
    var out = OutboundQueue()
    /// Bytes of an incomplete frame header or control frame carried to the next read.
    var carry = CarryBuffer()
    /// Keep-alive state of this connection (nil while pings are off or before the relay opens).
    var heartbeat: Heartbeat?
    /// Places in the loop's keep-alive deadline lists.
    var pingLink = DeadlineLink()
    var pongLink = DeadlineLink()
    unowned(unsafe) var keepAlive: KeepAliveScheduler?
    /// A non-blocking connect is in progress (upstream only).
    private(set) var isConnecting = false
    private(set) var isClosed = false
    private var readingWanted = false
    private var writeBlocked = false
    private var watcher: IOWatcher!

    init(fd: Int32, role: Role, loop: EventLoop, connecting: Bool = false) {
        self.fd = fd
        self.role = role
        self.loop = loop
        self.isConnecting = connecting
        watcher = IOWatcher(owner: self, fd: fd, callback: connectionCallback)
        Socket.configureForRelay(fd)
        updateInterest()
    }

    deinit {
        if !isClosed { close() }
        watcher.free(loop: loop.raw)
    }

    var isReading: Bool { readingWanted }

    /// Starts or stops reading (backpressure, handshake phases).
    func setReading(_ on: Bool) {
        guard readingWanted != on else { return }
        readingWanted = on
        updateInterest()
    }

    /// Reads into `buffer` once. One read per readiness event keeps every
    /// connection of the loop served in turn.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> ReadOutcome {
        while true {
            let count = Glibc.read(fd, buffer, capacity)
            if count > 0 { return .data(count) }
            if count == 0 { return .endOfStream }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            return .failed(code)
        }
    }

    /// Writes what is queued; watches for writability only while the socket is full.
    @discardableResult
    func flush() -> WriteOutcome {
        guard !isClosed else { return .failed(EBADF) }
        let outcome = out.write(to: fd)
        let blocked = outcome == .blocked
        if blocked != writeBlocked {
            writeBlocked = blocked
            updateInterest()
        }
        return outcome
    }

    /// No more bytes will be sent (after a close frame or an HTTP error): FIN to the peer.
    func shutdownWrite() {
        guard !isClosed else { return }
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Stops the watcher and closes the fd. Safe to call twice.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        keepAlive?.untrack(self)
        keepAlive = nil
        watcher.watch(0, loop: loop.raw)
        out.discardAll()
        carry.release()
        Glibc.close(fd)
    }

    fileprivate func handle(_ events: Int32) {
        if isConnecting {
            if events & (IOEvents.write | LIFELINE_EV_ERROR) != 0 {
                isConnecting = false
                updateInterest()
                session.upstreamConnectFinished(self, error: Socket.pendingError(fd))
            }
            return
        }
        if events & IOEvents.write != 0 {
            let outcome = flush()
            session.connectionDidWrite(self, outcome: outcome)
            if isClosed { return }
        }
        if events & IOEvents.read != 0 && readingWanted {
            session.connectionReadable(self)
        }
    }

    private func updateInterest() {
        guard !isClosed else { return }
        var events: Int32 = 0
        if readingWanted { events |= IOEvents.read }
        if writeBlocked || isConnecting { events |= IOEvents.write }
        watcher.watch(events, loop: loop.raw)
    }
}

@available(*, unavailable)
extension Connection: Sendable {}

private let connectionCallback: lifeline_ev_io_cb = { _, watcher, events in
    Unmanaged<Connection>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.handle(events) }
}

/// What one read produced.
enum ReadOutcome {
    case data(Int)
    case wouldBlock
    case endOfStream
    case failed(Int32)
}

/// The tail of a read that did not complete a frame header or a control frame
/// (at most 14 + 125 bytes once open; more during the HTTP handshake), prepended to the next read.
struct CarryBuffer {
    private(set) var bytes: UnsafeMutableRawPointer?
    private(set) var count = 0
    private var capacity = 0

    var isEmpty: Bool { count == 0 }

    mutating func store(_ source: UnsafeRawBufferPointer) {
        if source.count > capacity {
            bytes?.deallocate()
            capacity = max(source.count, 256)
            bytes = .allocate(byteCount: capacity, alignment: 8)
        }
        if source.count > 0 { bytes!.copyMemory(from: source.baseAddress!, byteCount: source.count) }
        count = source.count
    }

    mutating func clear() { count = 0 }

    mutating func release() {
        bytes?.deallocate()
        bytes = nil
        capacity = 0
        count = 0
    }
}
