import CLibev
import Glibc

/// Owns a listening socket and its watcher. Accepts in bounded batches (fairness with the
/// loop's other work) and hands each socket to `onAccept`. When accept fails for lack of
/// file descriptors it pauses itself briefly instead of spinning on a queued connection
/// (ev.pod, "accept()ing when you can't").
final class Listener {
    let fd: Int32
    let address: SocketAddress
    let loop: EventLoop
    private var watcher: IOWatcher!
    private var pauseTimer: TimerWatcher!
    private let onAccept: (Int32, SocketAddress) -> Void
    private let onError: (SocketError) -> Void
    static let acceptsPerEvent = 64
    static let pauseAfterFdExhaustion = 0.1

    init(address: SocketAddress, reusePort: Bool, loop: EventLoop,
         onAccept: @escaping (Int32, SocketAddress) -> Void,
         onError: @escaping (SocketError) -> Void) throws(SocketError) {
        fd = try Socket.listen(on: address, reusePort: reusePort)
        self.address = Socket.localAddress(fd)
        self.loop = loop
        self.onAccept = onAccept
        self.onError = onError
        watcher = IOWatcher(owner: self, fd: fd, callback: listenerCallback)
        pauseTimer = TimerWatcher(owner: self, callback: listenerResumeCallback)
    }

    private var isClosed = false

    deinit {
        watcher.free(loop: loop.raw)
        pauseTimer.free(loop: loop.raw)
        if !isClosed { Glibc.close(fd) }
    }

    func start() { watcher.watch(IOEvents.read, loop: loop.raw) }

    /// Stops accepting for good and closes the socket (drain): new clients are refused.
    func close() {
        guard !isClosed else { return }
        watcher.watch(0, loop: loop.raw)
        pauseTimer.disarm(loop: loop.raw)
        isClosed = true
        Glibc.close(fd)
    }

    fileprivate func acceptReady() {
        for _ in 0..<Listener.acceptsPerEvent {
            switch Socket.accept(fd) {
            case .success(let accepted?):
                onAccept(accepted.0, accepted.1)
            case .success(nil):
                return
            case .failure(let error):
                onError(error)
                if error.code == EMFILE || error.code == ENFILE || error.code == ENOBUFS || error.code == ENOMEM {
                    watcher.watch(0, loop: loop.raw)
                    pauseTimer.arm(after: Listener.pauseAfterFdExhaustion, loop: loop.raw)
                }
                return
            }
        }
    }

    fileprivate func resume() {
        if !isClosed { start() }
    }
}

private let listenerCallback: lifeline_ev_io_cb = { _, watcher, _ in
    Unmanaged<Listener>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.acceptReady() }
}

private let listenerResumeCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<Listener>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.resume() }
}
