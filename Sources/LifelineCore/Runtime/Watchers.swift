import CLibev

/// An `ev_io` at a stable heap address whose `data` points at its owner (unretained:
/// the owner stops and frees the watcher before it goes away). Changing the event
/// mask restarts the watcher; libev folds that into one epoll_ctl at most.
struct IOWatcher {
    let pointer: UnsafeMutablePointer<ev_io>
    private(set) var events: Int32 = 0

    init(owner: AnyObject, fd: Int32, callback: lifeline_ev_io_cb) {
        pointer = .allocate(capacity: 1)
        lifeline_ev_io_init(pointer, callback, fd, 0)
        pointer.pointee.data = Unmanaged.passUnretained(owner).toOpaque()
    }

    /// Watches exactly `newEvents` (EV_READ | EV_WRITE bits); 0 stops the watcher.
    mutating func watch(_ newEvents: Int32, loop: OpaquePointer) {
        guard newEvents != events else { return }
        if events != 0 { ev_io_stop(loop, pointer) }
        events = newEvents
        if newEvents != 0 {
            lifeline_ev_io_set(pointer, pointer.pointee.fd, newEvents)
            ev_io_start(loop, pointer)
        }
    }

    mutating func free(loop: OpaquePointer) {
        watch(0, loop: loop)
        pointer.deallocate()
    }
}

/// An `ev_timer` at a stable heap address whose `data` points at its owner.
/// One per owner, armed to the owner's earliest deadline ("be smart about timeouts").
struct TimerWatcher {
    let pointer: UnsafeMutablePointer<ev_timer>

    init(owner: AnyObject, callback: lifeline_ev_timer_cb) {
        pointer = .allocate(capacity: 1)
        lifeline_ev_timer_init(pointer, callback, 0, 0)
        pointer.pointee.data = Unmanaged.passUnretained(owner).toOpaque()
    }

    /// Fires once, `delay` seconds from the loop's current time; replaces any earlier arming.
    func arm(after delay: Double, loop: OpaquePointer) {
        ev_timer_stop(loop, pointer)
        lifeline_ev_timer_set(pointer, max(delay, 0), 0)
        ev_timer_start(loop, pointer)
    }

    func disarm(loop: OpaquePointer) { ev_timer_stop(loop, pointer) }

    func free(loop: OpaquePointer) {
        ev_timer_stop(loop, pointer)
        pointer.deallocate()
    }
}

/// Event bits as Swift sees them, converted once.
enum IOEvents {
    static let read = LIFELINE_EV_READ
    static let write = LIFELINE_EV_WRITE
}

/// An `ev_signal` at a stable heap address whose `data` points at its owner. Signals go
/// through the default loop, never through ad-hoc handlers.
struct SignalWatcher {
    let pointer: UnsafeMutablePointer<ev_signal>

    init(owner: AnyObject, signal: Int32, callback: lifeline_ev_signal_cb) {
        pointer = .allocate(capacity: 1)
        lifeline_ev_signal_init(pointer, callback, signal)
        pointer.pointee.data = Unmanaged.passUnretained(owner).toOpaque()
    }

    var signal: Int32 { pointer.pointee.signum }

    /// Starts watching; the watcher keeps the (main) loop running, as it should.
    func start(loop: OpaquePointer) {
        ev_signal_start(loop, pointer)
    }
}
