import CLibev
import Glibc

/// Owns a listening socket, its watcher and one reserve descriptor. Accepts in bounded
/// batches (fairness with the loop's other work) and hands each socket to `onAccept`.
///
/// Out of descriptors (EMFILE/ENFILE), the client stays queued and the socket stays ready,
/// so the listener must not simply return (ev.pod, "accept()ing when you can't"). It
/// closes its reserve, accepts the client into the freed slot, hands it to `onExhausted`
/// (which answers and closes it) and reopens the reserve: clients get a prompt refusal
/// instead of hanging in the backlog, and the loop does no work without progress. When
/// the reserve cannot be had back (another thread took the slot) or the kernel is out of
/// memory, it stops watching for `pauseAfterExhaustion` seconds instead.
/// Failures are reported through `onError` at most once per `failureLogInterval`.
final class Listener {
    let fd: Int32
    let address: SocketAddress
    let loop: EventLoop
    private var watcher: IOWatcher!
    private var pauseTimer: TimerWatcher!
    private let onAccept: (Int32, SocketAddress) -> Void
    private let onExhausted: (Int32) -> Void
    private let onError: (SocketError, Int) -> Void
    /// An open /dev/null, given up for one accept while the process is out of descriptors; -1 when none.
    private var reserve: Int32 = -1
    private var failureLog = LogThrottle(interval: Listener.failureLogInterval)
    static let acceptsPerEvent = 64
    static let pauseAfterExhaustion = 0.1
    static let failureLogInterval = 10.0

    /// `onExhausted` gets a client accepted while out of descriptors; it must close the
    /// socket before returning (the slot is the reserve's); by default it just closes it. `onError` gets a failure and
    /// how many failures (held back by the rate limit) it stands for.
    init(address: SocketAddress, reusePort: Bool, loop: EventLoop,
         onAccept: @escaping (Int32, SocketAddress) -> Void,
         onExhausted: @escaping (Int32) -> Void = { Glibc.close($0) },
         onError: @escaping (SocketError, Int) -> Void) throws(SocketError) {
        fd = try Socket.listen(on: address, reusePort: reusePort)
        self.address = Socket.localAddress(fd)
        self.loop = loop
        self.onAccept = onAccept
        self.onExhausted = onExhausted
        self.onError = onError
        reserve = Listener.openReserve()
        watcher = IOWatcher(owner: self, fd: fd, callback: listenerCallback)
        pauseTimer = TimerWatcher(owner: self, callback: listenerResumeCallback)
    }

    private var isClosed = false

    deinit {
        watcher.free(loop: loop.raw)
        pauseTimer.free(loop: loop.raw)
        if !isClosed { Glibc.close(fd) }
        if reserve >= 0 { Glibc.close(reserve) }
    }

    func start() { watcher.watch(IOEvents.read, loop: loop.raw) }

    /// Stops accepting for good and closes the socket (drain): new clients are refused.
    func close() {
        guard !isClosed else { return }
        watcher.watch(0, loop: loop.raw)
        pauseTimer.disarm(loop: loop.raw)
        isClosed = true
        Glibc.close(fd)
        if reserve >= 0 { Glibc.close(reserve) }
        reserve = -1
    }

    fileprivate func acceptReady() {
        for _ in 0..<Listener.acceptsPerEvent {
            switch Socket.accept(fd) {
            case .success(let accepted?):
                onAccept(accepted.0, accepted.1)
            case .success(nil):
                return
            case .failure(let error):
                if let count = failureLog.record(now: loop.now) { onError(error, count) }
                switch AcceptFailure(errno: error.code, reserveAvailable: reserve >= 0) {
                case .refuseWithReserve:
                    if !refuseWithReserve() { return }
                case .pause:
                    pause()
                    return
                case .skip:
                    return
                }
            }
        }
    }

    /// Accepts one client into the reserve's slot and refuses it. False when there is
    /// nothing more to do in this callback (queue empty, or paused).
    private func refuseWithReserve() -> Bool {
        Glibc.close(reserve)
        reserve = -1
        defer { reserve = Listener.openReserve() }
        switch Socket.accept(fd) {
        case .success(let accepted?):
            onExhausted(accepted.0)
            return true
        case .success(nil):
            return false
        case .failure:
            pause() // the slot went to another thread: wait instead
            return false
        }
    }

    private func pause() {
        watcher.watch(0, loop: loop.raw)
        pauseTimer.arm(after: Listener.pauseAfterExhaustion, loop: loop.raw)
    }

    fileprivate func resume() {
        guard !isClosed else { return }
        if reserve < 0 { reserve = Listener.openReserve() }
        start()
    }

    private static func openReserve() -> Int32 { open("/dev/null", O_RDONLY | O_CLOEXEC) }
}

private let listenerCallback: lifeline_ev_io_cb = { _, watcher, _ in
    Unmanaged<Listener>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.acceptReady() }
}

private let listenerResumeCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<Listener>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.resume() }
}
