import CLibev
import Glibc

/// Owns one socket of the demo's own peers (the ticker's connections and the client): its
/// fd, its libev watcher, the bytes read but not yet consumed and the bytes not yet
/// written. Moves bytes only; the ticker and the client interpret them. Non-blocking
/// throughout: writes the socket refuses wait in `pending` until it is writable again.
final class DemoSocket {
    let fd: Int32
    let loop: EventLoop
    /// Received bytes the owner has not consumed yet (it removes what it used).
    var inbound: [UInt8] = []
    /// Called after new bytes were appended to `inbound`.
    var onData: (() -> Void)?
    /// Called once when the socket closes for any reason (peer, error, `close()`).
    var onClosed: (() -> Void)?
    /// Called once when a non-blocking connect has finished (0, or the errno).
    var onConnected: ((Int32) -> Void)?
    private(set) var isClosed = false
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private var connecting: Bool
    private var closeAfterFlush = false
    private var watcher: IOWatcher!

    init(fd: Int32, loop: EventLoop, connecting: Bool = false) {
        self.fd = fd
        self.loop = loop
        self.connecting = connecting
        watcher = IOWatcher(owner: self, fd: fd, callback: demoSocketCallback)
        Socket.configureForRelay(fd)
        updateInterest()
    }

    deinit {
        if !isClosed { Glibc.close(fd) }
        watcher.free(loop: loop.raw)
    }

    /// Queues `bytes` and writes what the socket takes now.
    func send(_ bytes: [UInt8]) {
        guard !isClosed, !closeAfterFlush else { return }
        pending.append(contentsOf: bytes)
        flush()
    }

    /// Closes once everything queued has been written (after a close frame).
    func closeWhenFlushed() {
        closeAfterFlush = true
        if pendingOffset == pending.count { close() }
    }

    /// Stops the watcher and closes the fd; `onClosed` runs once. Safe to call twice.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        watcher.watch(0, loop: loop.raw)
        Glibc.close(fd)
        pending = []
        let closed = onClosed
        onClosed = nil
        onData = nil
        onConnected = nil
        closed?()
    }

    private func flush() {
        while pendingOffset < pending.count {
            let written = pending.withUnsafeBytes {
                Glibc.write(fd, $0.baseAddress! + pendingOffset, pending.count - pendingOffset)
            }
            if written > 0 { pendingOffset += written; continue }
            if written < 0 && errno == EINTR { continue }
            if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            return close()
        }
        if pendingOffset == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingOffset = 0
            if closeAfterFlush { return close() }
        }
        updateInterest()
    }

    fileprivate func handle(_ events: Int32) {
        if connecting {
            connecting = false
            updateInterest()
            onConnected?(Socket.pendingError(fd))
            return
        }
        if events & IOEvents.write != 0 { flush() }
        if events & IOEvents.read != 0 && !isClosed { readOnce() }
    }

    private func readOnce() {
        let count = Glibc.read(fd, loop.readBuffer, loop.readBufferCapacity)
        if count > 0 {
            inbound.append(contentsOf: UnsafeRawBufferPointer(start: loop.readBuffer, count: count))
            onData?()
        } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            close()
        }
    }

    private func updateInterest() {
        guard !isClosed else { return }
        var events: Int32 = connecting ? IOEvents.write : IOEvents.read
        if pendingOffset < pending.count { events |= IOEvents.write }
        watcher.watch(events, loop: loop.raw)
    }
}

@available(*, unavailable)
extension DemoSocket: Sendable {}

private let demoSocketCallback: lifeline_ev_io_cb = { _, watcher, events in
    Unmanaged<DemoSocket>.fromOpaque(watcher!.pointee.data!).takeUnretainedValue().handle(events)
}
