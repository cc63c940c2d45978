import CLibev
import Glibc

/// Owns one socket: its fd, its libev watcher, its outbound queue, and the few bytes of
/// a frame header split across reads. It moves bytes and reports events to its session;
/// it never interprets them. The only code that reads or writes the fd.
///
/// Its transport is plain TCP or TLS, chosen once when it is created (as nginx swaps
/// `c->recv`/`c->send`): `read`, `flush`, `shutdownWrite` and `close` switch on it, and a
/// TLS connection runs its handshake here, on the same watcher, before it reports to
/// its session what a plain one reports (upstream: connect finished; downstream:
/// readable). Sessions, the relay and keep-alive never ask which transport it is.
final class Connection {
    enum Role: String { case downstream, upstream }

    /// How bytes reach the fd.
    enum Transport {
        case plain
        /// OpenSSL over a socket BIO on the same fd.
        case tls(TLSSession)
    }

    let fd: Int32
    let role: Role
    let loop: EventLoop
    let transport: Transport
    /// Receives this connection's events; set right after creation, outlives the connection.
    unowned(unsafe) var session: ProxySession!
    var out = OutboundQueue()
    /// The last read was mostly control frames: read less next time (relay fairness).
    var readsControlFlood = false
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
    /// The TLS handshake is in progress (after the TCP connect, for upstream).
    private(set) var isHandshaking = false
    private(set) var isClosed = false
    private var readingWanted = false
    /// Readiness the TLS handshake waits for.
    private var handshakeWaitsFor: Int32 = 0
    /// Readiness the next read waits for: readable, or writable when SSL_read must send first.
    private var readWaitsFor = IOEvents.read
    /// Readiness a blocked flush waits for: 0 = not blocked; writable, or readable when
    /// SSL_write must receive first.
    private var writeWaitsFor: Int32 = 0
    /// TLS: input OpenSSL already holds (libev cannot see it): read again without an event.
    private var bufferedReadScheduled = false
    /// TLS: an end of stream or failure met after data in the same read burst, reported next.
    private var deferredReadEnd: ReadOutcome?
    private var watcher: IOWatcher!
    /// Frames may be queued by reference to the read buffer (`OutboundQueue.appendBorrowed`):
    /// plain TCP writes straight from them; TLS encrypts from the queue's own storage.
    let sendsBorrowedBytes: Bool

    /// - Parameter tls: a context makes this a TLS connection (client or server per the context).
    init(fd: Int32, role: Role, loop: EventLoop, connecting: Bool = false, tls: TLSContext? = nil) {
        self.fd = fd
        self.role = role
        self.loop = loop
        self.isConnecting = connecting
        sendsBorrowedBytes = tls == nil
        if let tls {
            transport = .tls(TLSSession(context: tls, fd: fd))
            if !connecting {
                isHandshaking = true
                handshakeWaitsFor = tls.kind == .server ? IOEvents.read : IOEvents.write
            }
        } else {
            transport = .plain
        }
        watcher = IOWatcher(owner: self, fd: fd, callback: connectionCallback)
        Socket.configureForRelay(fd)
        updateInterest()
    }

    deinit {
        if !isClosed { close() }
        watcher.free(loop: loop.raw)
    }

    var isReading: Bool { readingWanted }

    /// Something to send, or a wait for writability to settle: `flush()` would act.
    var hasWriteWork: Bool { writeWaitsFor != 0 || !out.isEmpty }

    /// The peer reached us over TLS (X-Forwarded-Proto).
    var isTLS: Bool {
        if case .tls = transport { return true }
        return false
    }

    /// Gives back the outbound buffer and the carry buffer if they hold nothing: called at
    /// each keep-alive deadline, so a session that went quiet holds no buffer memory, while
    /// a busy one reallocates at most once per ping interval.
    func releaseIdleBuffers() {
        if out.isEmpty { out.releaseStorage() }
        if carry.isEmpty { carry.release() }
    }

    /// Starts or stops reading (backpressure, handshake phases).
    func setReading(_ on: Bool) {
        guard readingWanted != on else { return }
        readingWanted = on
        updateInterest()
    }

    /// Reads into `buffer`. Plain: one read per readiness event keeps every connection of
    /// the loop served in turn. TLS: records until the buffer is full or the socket is
    /// drained, bounded the same way; input left inside OpenSSL is read on the next turn.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> ReadOutcome {
        switch transport {
        case .plain:
            while true {
                let count = recv(fd, buffer, capacity, 0) // a socket call: no file layer
                if count > 0 { return .data(count) }
                if count == 0 { return .endOfStream }
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
                return .failed(code)
            }
        case .tls(let tls):
            return readTLS(tls, into: buffer, capacity: capacity)
        }
    }

    private func readTLS(_ tls: TLSSession, into buffer: UnsafeMutableRawPointer, capacity: Int) -> ReadOutcome {
        if let end = deferredReadEnd {
            deferredReadEnd = nil
            return end
        }
        if isHandshaking || isConnecting { return .wouldBlock }
        var total = 0
        var end: ReadOutcome?
        reading: for _ in 0..<TLSSession.recordsPerRead where total < capacity {
            switch tls.read(into: buffer + total, capacity: capacity - total) {
            case .complete(let count):
                total += count
            case .incomplete(let wants):
                if wants != readWaitsFor {
                    readWaitsFor = wants
                    updateInterest()
                }
                break reading
            case .closed:
                end = .endOfStream
                break reading
            case .failed(let failure):
                Logger.shared.debug("tls.read_failed", ["side": .string(role.rawValue), "reason": .string(failure.reason)])
                end = .failed(failure.code)
                break reading
            }
        }
        if total == 0 { return end ?? .wouldBlock }
        if let end {
            deferredReadEnd = end
            scheduleBufferedRead()
        } else if tls.hasBufferedInput {
            scheduleBufferedRead()
        }
        return .data(total)
    }

    /// Writes what is queued; watches for readiness only while the transport is blocked.
    @discardableResult
    func flush() -> WriteOutcome {
        guard !isClosed else { return .failed(EBADF) }
        let outcome: WriteOutcome
        let waitsFor: Int32
        switch transport {
        case .plain:
            outcome = out.write(to: fd)
            waitsFor = outcome == .blocked ? IOEvents.write : 0
        case .tls(let tls):
            // Nothing leaves before the handshake is done; it flushes when it completes.
            if isHandshaking || isConnecting { return out.isEmpty ? .drained : .blocked }
            outcome = out.write(to: tls)
            if case .failed = outcome {
                Logger.shared.debug("tls.write_failed", ["side": .string(role.rawValue)])
            }
            waitsFor = outcome == .blocked ? tls.writeWants : 0
        }
        if waitsFor != writeWaitsFor {
            writeWaitsFor = waitsFor
            updateInterest()
        }
        return outcome
    }

    /// No more bytes will be sent (after a close frame or an HTTP error): TLS close_notify,
    /// then FIN to the peer.
    func shutdownWrite() {
        guard !isClosed else { return }
        if case .tls(let tls) = transport { tls.shutdown() }
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Stops the watcher, sends TLS close_notify (without waiting for the peer's) and
    /// closes the fd. Safe to call twice.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        keepAlive?.untrack(self)
        keepAlive = nil
        watcher.watch(0, loop: loop.raw)
        if case .tls(let tls) = transport {
            tls.shutdown()
            tls.release()
        }
        out.discardAll()
        carry.release()
        Glibc.close(fd)
    }

    fileprivate func handle(_ events: Int32) {
        if isConnecting {
            if events & (IOEvents.write | LIFELINE_EV_ERROR) != 0 {
                isConnecting = false
                let error = Socket.pendingError(fd)
                if error == 0, case .tls = transport {
                    isHandshaking = true
                    advanceHandshake()
                    return
                }
                updateInterest()
                session.upstreamConnectFinished(self, error: error)
            }
            return
        }
        if isHandshaking {
            advanceHandshake()
            return
        }
        if events & writeWaitsFor != 0 {
            let outcome = flush()
            session.connectionDidWrite(self, outcome: outcome)
            if isClosed { return }
        }
        if readingWanted && events & readWaitsFor != 0 {
            if readWaitsFor != IOEvents.read {
                readWaitsFor = IOEvents.read
                updateInterest()
            }
            bufferedReadScheduled = false
            session.connectionReadable(self)
        }
    }

    /// One handshake step; on completion the session hears what a plain connection
    /// would have told it, on failure the OpenSSL reason.
    private func advanceHandshake() {
        guard case .tls(let tls) = transport else { return }
        switch tls.handshake() {
        case .complete:
            isHandshaking = false
            handshakeWaitsFor = 0
            updateInterest()
            if role == .upstream {
                session.upstreamConnectFinished(self, error: 0)
                return
            }
            if !out.isEmpty {
                let outcome = flush()
                session.connectionDidWrite(self, outcome: outcome)
                if isClosed { return }
            }
            // The first request may already sit inside OpenSSL with the client's Finished.
            scheduleBufferedRead()
        case .incomplete(let wants):
            if wants != handshakeWaitsFor {
                handshakeWaitsFor = wants
                updateInterest()
            }
        case .closed:
            session.tlsHandshakeFailed(self, failure: TLSFailure(reason: "the peer closed the connection during the TLS handshake", code: ECONNRESET))
        case .failed(let failure):
            session.tlsHandshakeFailed(self, failure: failure)
        }
    }

    /// Delivers a readable event at the loop's next turn (TLS input libev cannot see).
    private func scheduleBufferedRead() {
        bufferedReadScheduled = true
        updateInterest()
    }

    private func updateInterest() {
        guard !isClosed else { return }
        var events: Int32
        if isConnecting {
            events = IOEvents.write
        } else if isHandshaking {
            events = handshakeWaitsFor
        } else {
            events = writeWaitsFor
            if readingWanted { events |= readWaitsFor }
        }
        watcher.watch(events, loop: loop.raw)
        // Restarting the watcher drops a fed event: feed it again (feeding twice is harmless).
        if bufferedReadScheduled && readingWanted && !isHandshaking && !isConnecting {
            ev_feed_event(loop.raw, UnsafeMutableRawPointer(watcher.pointer), IOEvents.read)
        }
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
