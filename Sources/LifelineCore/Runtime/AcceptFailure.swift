import Glibc

/// What a listener does when accept(2) fails, by errno (ev.pod, "The special problem of
/// accept()ing when you can't"). The listening socket is level-triggered: a failure that
/// leaves the client in the queue must either remove it or stop watching, or the loop spins.
enum AcceptFailure: Equatable {
    /// Out of descriptors (EMFILE, ENFILE) with a reserve descriptor in hand: close the
    /// reserve, accept the waiting client into its slot, refuse it, take the reserve back.
    case refuseWithReserve
    /// Out of descriptors with no reserve, or out of kernel memory (ENOBUFS, ENOMEM):
    /// stop watching the socket for `Listener.pauseAfterExhaustion` seconds.
    case pause
    /// Any other error concerns one pending connection, which the kernel has dropped:
    /// nothing is left behind, so accepting goes on at the next readiness.
    case skip

    init(errno code: Int32, reserveAvailable: Bool) {
        switch code {
        case EMFILE, ENFILE: self = reserveAvailable ? .refuseWithReserve : .pause
        case ENOBUFS, ENOMEM: self = .pause
        default: self = .skip
        }
    }
}
