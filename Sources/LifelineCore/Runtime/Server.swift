import CLibev
import Glibc

/// The running proxy: owns the workers, the signal watchers and the shutdown sequence
/// (spec §8). SIGTERM/SIGINT stop accepting and drain: every app gets 1001 after its
/// queued data, and the process exits when the last session is gone or the grace
/// period ends; a second signal exits at once.
public final class Server {
    public let configuration: Configuration
    private let loop: EventLoop
    private let worker: Worker
    private var signals: [SignalWatcher] = []
    private var graceTimer: TimerWatcher!
    private var draining = false

    public init(configuration: Configuration) {
        self.configuration = configuration
        loop = EventLoop(useDefaultLoop: true)
        worker = Worker(configuration: configuration, loop: loop)
    }

    /// Binds, serves until drained, and returns the process exit code.
    public func run() -> Int32 {
        if let unsupported = Server.unsupportedFeature(in: configuration) {
            Logger.shared.error("config.unsupported", ["reason": .string(unsupported)])
            return 1
        }
        if configuration.workers > 1 {
            Logger.shared.warn("workers.single_loop", ["configured": .int(configuration.workers), "reason": .string("this build runs one event loop")])
        }
        let address: SocketAddress
        do {
            address = try worker.listen(reusePort: configuration.workers > 1)
        } catch {
            Logger.shared.error("listen.failed", ["address": .string(configuration.listen.description), "error": .string("\(error)")])
            return 1
        }
        for number in [SIGTERM, SIGINT] {
            let watcher = SignalWatcher(owner: self, signal: number, callback: serverSignalCallback)
            watcher.start(loop: loop.raw)
            signals.append(watcher)
        }
        graceTimer = TimerWatcher(owner: self, callback: serverGraceCallback)
        worker.onDrained = { [unowned self] in self.finishShutdown(reason: "drained") }
        Logger.shared.info("listening", [
            "address": .string(address.description),
            "upstream": .string(configuration.upstream.url.original),
            "version": .string(LifelineVersion.string),
        ])
        loop.run()
        return 0
    }

    /// Settings the configuration accepts (spec §2) that this build cannot honour yet; refusing
    /// to start beats speaking plaintext to a TLS port.
    static func unsupportedFeature(in configuration: Configuration) -> String? {
        if configuration.upstream.url.isTLS { return "upstream.url uses wss://, and TLS is not built in yet" }
        if configuration.downstream.tls != nil { return "downstream.tls is set, and TLS is not built in yet" }
        return nil
    }

    fileprivate func signalled(_ number: Int32) {
        if draining {
            Logger.shared.warn("shutdown.forced", ["signal": .int(Int(number)), "sessions": .int(worker.sessionCount)])
            exit(0)
        }
        draining = true
        Logger.shared.info("shutdown.draining", [
            "signal": .int(Int(number)), "sessions": .int(worker.sessionCount),
            "grace_seconds": .double(configuration.shutdownGraceSeconds),
        ])
        worker.beginDrain()
        if worker.sessionCount == 0 {
            finishShutdown(reason: "drained")
        } else {
            graceTimer.arm(after: configuration.shutdownGraceSeconds, loop: loop.raw)
        }
    }

    fileprivate func finishShutdown(reason: String) {
        Logger.shared.info("shutdown.complete", ["reason": .string(reason), "sessions_left": .int(worker.sessionCount)])
        loop.stop()
        exit(0)
    }
}

@available(*, unavailable)
extension Server: Sendable {}

private let serverSignalCallback: lifeline_ev_signal_cb = { _, watcher, _ in
    Unmanaged<Server>.fromOpaque(watcher!.pointee.data!).takeUnretainedValue().signalled(watcher!.pointee.signum)
}

private let serverGraceCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<Server>.fromOpaque(watcher!.pointee.data!).takeUnretainedValue().finishShutdown(reason: "grace period over")
}
