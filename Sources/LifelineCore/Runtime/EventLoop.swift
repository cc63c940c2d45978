import CLibev
import Glibc

/// Owns one libev loop and what every connection on it shares: the large reusable
/// read buffer, the mask-key source, the mailbox other threads post jobs to, and
/// the list of objects whose release waits until the current callback has returned.
///
/// Confined to the thread that runs it; other threads only call `post`.
public final class EventLoop {
    /// The `struct ev_loop *`.
    let raw: OpaquePointer
    /// One read buffer for every socket of this loop: reads land here, are decoded and
    /// relayed at once; only a partial frame header is ever kept per connection.
    let readBuffer: UnsafeMutableRawPointer
    let readBufferCapacity: Int
    /// Random masking keys for client frames, drawn from OpenSSL in blocks.
    var maskKeys = MaskKeySource()

    private let mailbox = Mailbox()
    private var asyncWatcher: UnsafeMutablePointer<ev_async>
    private var prepareWatcher: UnsafeMutablePointer<ev_prepare>
    /// Objects released at the next loop iteration, never inside their own callback.
    private var deferredReleases: [AnyObject] = []

    /// - Parameter useDefaultLoop: the main thread's loop (the one that may own signal watchers).
    public init(useDefaultLoop: Bool, readBufferCapacity: Int = 256 * 1024) {
        let flags = LIFELINE_EVFLAG_AUTO
        guard let loop = useDefaultLoop ? ev_default_loop(flags) : ev_loop_new(flags) else {
            fatalError("libev: could not create an event loop")
        }
        raw = loop
        self.readBufferCapacity = readBufferCapacity
        readBuffer = .allocate(byteCount: readBufferCapacity, alignment: 16)
        asyncWatcher = .allocate(capacity: 1)
        prepareWatcher = .allocate(capacity: 1)
        lifeline_ev_async_init(asyncWatcher, eventLoopAsyncCallback)
        asyncWatcher.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        ev_async_start(raw, asyncWatcher)
        ev_unref(raw) // the mailbox alone must not keep the loop running
        lifeline_ev_prepare_init(prepareWatcher, eventLoopPrepareCallback)
        prepareWatcher.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        ev_ref(raw)
        ev_async_stop(raw, asyncWatcher)
        ev_prepare_stop(raw, prepareWatcher)
        asyncWatcher.deallocate()
        prepareWatcher.deallocate()
        readBuffer.deallocate()
        maskKeys.release()
    }

    /// The loop iteration's cached time (seconds): the one clock for every deadline.
    @inline(__always) public var now: Double { ev_now(raw) }

    /// Runs until `stop()` or until no active watcher is left.
    public func run() { ev_run(raw, 0) }

    /// Makes `run()` return after the current iteration.
    public func stop() { ev_break(raw, LIFELINE_EVBREAK_ALL) }

    /// Runs `job` on this loop's thread at its next iteration. Safe from any thread.
    public func post(_ job: @escaping () -> Void) {
        mailbox.append(job)
        ev_async_send(raw, asyncWatcher)
    }

    /// Keeps `object` alive until the current callback chain has unwound.
    func releaseLater(_ object: AnyObject) {
        if deferredReleases.isEmpty { ev_prepare_start(raw, prepareWatcher) }
        deferredReleases.append(object)
    }

    fileprivate func drainMailbox() {
        for job in mailbox.takeAll() { job() }
    }

    fileprivate func releaseDeferred() {
        ev_prepare_stop(raw, prepareWatcher)
        deferredReleases.removeAll(keepingCapacity: true)
    }
}

@available(*, unavailable)
extension EventLoop: Sendable {}

private let eventLoopAsyncCallback: lifeline_ev_async_cb = { _, watcher, _ in
    Unmanaged<EventLoop>.fromOpaque(watcher!.pointee.data!).takeUnretainedValue().drainMailbox()
}

private let eventLoopPrepareCallback: lifeline_ev_prepare_cb = { _, watcher, _ in
    Unmanaged<EventLoop>.fromOpaque(watcher!.pointee.data!).takeUnretainedValue().releaseDeferred()
}

/// Jobs posted from other threads, taken as a batch by the loop thread.
private final class Mailbox: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var jobs: [() -> Void] = []

    init() { pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }

    func append(_ job: @escaping () -> Void) {
        pthread_mutex_lock(&lock)
        jobs.append(job)
        pthread_mutex_unlock(&lock)
    }

    func takeAll() -> [() -> Void] {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        let taken = jobs
        jobs = []
        return taken
    }
}
