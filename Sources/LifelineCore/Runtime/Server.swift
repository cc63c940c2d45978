import CLibev
import Foundation

/// The running proxy: owns the worker threads (one libev loop each, sharing the listen
/// port through SO_REUSEPORT), the main thread's loop with the signal watchers and the
/// admin server, and the shutdown and reload sequences of spec §8.
///
/// SIGTERM/SIGINT: stop accepting, `/readyz` turns 503, every app gets 1001 after its
/// queued data, exit when the last session is gone or the grace period ends; a second
/// signal exits at once. SIGHUP: reload the file; live sessions take the new ping, pong
/// and log settings; an invalid file is logged and the running configuration kept.
public final class Server {
    public private(set) var configuration: Configuration
    private let configPath: String?
    private let environment: [String: String]
    let mainLoop: EventLoop
    private(set) var workers: [Worker] = []
    private var admin: AdminServer?
    private var signals: [SignalWatcher] = []
    private var graceTimer: TimerWatcher!
    private(set) var isDraining = false
    private var drainedWorkers = 0
    /// The TLS contexts of the running configuration, shared by every worker.
    private var tls = TLSContexts()

    public init(configuration: Configuration, configPath: String? = nil, environment: [String: String] = [:]) {
        self.configuration = configuration
        self.configPath = configPath
        self.environment = environment
        mainLoop = EventLoop(useDefaultLoop: true)
    }

    /// Binds, serves until drained, and returns the process exit code.
    public func run() -> Int32 {
        do {
            tls = try TLSContexts.build(for: configuration)
        } catch {
            logTLSError("tls.setup_failed", error)
            return 1
        }
        if tls.upstream != nil && !configuration.upstream.tls.verify {
            Logger.shared.warn("tls.verify_disabled", [
                "upstream": .string(configuration.upstream.url.original),
                "reason": .string("upstream.tls.verify is false: the upstream's certificate and host name are not checked"),
            ])
        }
        let count = configuration.workers
        let limit = ConnectionLimit(maximum: configuration.downstream.maxConnections)
        var address: SocketAddress?
        do {
            address = try Worker.resolveListenAddress(configuration.listen)
            // SO_REUSEPORT would let these workers silently share a port another process
            // holds: make sure it is free first, with a plain bind.
            if count > 1, let probe = address { try Socket.checkFree(probe) }
        } catch {
            Logger.shared.error("listen.failed", ["address": .string(configuration.listen.description), "error": .string("\(error)")])
            return 1
        }
        for index in 0..<count {
            let worker = Worker(configuration: configuration, loop: EventLoop(useDefaultLoop: false),
                                index: index, count: count, connectionLimit: limit, tls: tls)
            do {
                // Every worker binds the first one's address (its port, when 0 was asked for).
                address = try worker.listen(at: address!, reusePort: count > 1)
            } catch {
                Logger.shared.error("listen.failed", ["address": .string(configuration.listen.description), "error": .string("\(error)")])
                return 1
            }
            worker.onDrained = { [unowned self] in self.mainLoop.post { self.workerDrained() } }
            workers.append(worker)
        }
        if let adminAddress = configuration.adminListen {
            do {
                let bound = try Worker.resolveListenAddress(adminAddress)
                admin = try AdminServer(address: bound, loop: mainLoop) { [unowned self] request, respond in
                    self.handleAdmin(request, respond: respond)
                }
                if !bound.isLoopback {
                    // /connections names every client; off loopback anyone on the network can read it.
                    Logger.shared.warn("admin.exposed", ["address": .string(bound.description),
                        "reason": .string("admin_listen is not a loopback address: /metrics and /connections are reachable from the network")])
                }
            } catch {
                Logger.shared.error("listen.failed", ["address": .string(adminAddress.description), "error": .string("\(error)")])
                return 1
            }
        }
        for number in [SIGTERM, SIGINT, SIGHUP] {
            let watcher = SignalWatcher(owner: self, signal: number, callback: serverSignalCallback)
            watcher.start(loop: mainLoop.raw)
            signals.append(watcher)
        }
        graceTimer = TimerWatcher(owner: self, callback: serverGraceCallback)
        for worker in workers {
            let box = UncheckedBox(worker.loop)
            let thread = Thread { box.value.run() }
            thread.name = "lifeline-worker-\(worker.index)"
            thread.start()
        }
        Logger.shared.info("listening", [
            "address": .string(address?.description ?? configuration.listen.description),
            "admin": admin.map { .string($0.boundAddress.description) } ?? .null,
            "upstream": .string(configuration.upstream.url.original),
            "workers": .int(count),
            "version": .string(LifelineVersion.string),
        ])
        mainLoop.run()
        return 0
    }

    private func logTLSError(_ event: String, _ error: TLSSetupError) {
        Logger.shared.error(event, ["path": .string(error.field), "file": error.file.map { .string($0) } ?? .null,
                                    "error": .string(error.description)])
    }

    /// TLS contexts for a reloaded configuration: rebuilt only where its TLS settings
    /// changed (a renewed certificate is picked up by new connections). Turning
    /// downstream TLS on or off changes what the listener speaks: that needs a restart.
    private func reloadedTLS(_ reloaded: Configuration) throws(TLSSetupError) -> TLSContexts {
        var contexts = tls
        let old = configuration
        if reloaded.upstream.url != old.upstream.url || reloaded.upstream.tls != old.upstream.tls {
            contexts.upstream = reloaded.upstream.url.isTLS
                ? try TLSContext.client(reloaded.upstream.tls, urlHost: reloaded.upstream.url.host) : nil
            if contexts.upstream != nil && !reloaded.upstream.tls.verify {
                Logger.shared.warn("tls.verify_disabled", ["upstream": .string(reloaded.upstream.url.original)])
            }
        }
        if reloaded.downstream.tls != old.downstream.tls {
            if let settings = reloaded.downstream.tls, old.downstream.tls != nil {
                contexts.downstream = try TLSContext.server(settings)
            } else {
                Logger.shared.warn("config.restart_needed", ["reason": .string("turning downstream.tls on or off changes only on restart")])
            }
        }
        return contexts
    }

    fileprivate func signalled(_ number: Int32) {
        if number == SIGHUP { return reload() }
        if isDraining {
            Logger.shared.warn("shutdown.forced", ["signal": .int(Int(number))])
            exit(0)
        }
        isDraining = true
        Logger.shared.info("shutdown.draining", [
            "signal": .int(Int(number)), "sessions": .int(workers.reduce(0) { $0 + $1.metrics.sessions.value }),
            "grace_seconds": .double(configuration.shutdownGraceSeconds),
        ])
        graceTimer.arm(after: configuration.shutdownGraceSeconds, loop: mainLoop.raw)
        for worker in workers { worker.loop.post { worker.beginDrain() } }
    }

    private func workerDrained() {
        drainedWorkers += 1
        if drainedWorkers == workers.count { finishShutdown(reason: "drained") }
    }

    fileprivate func finishShutdown(reason: String) {
        Logger.shared.info("shutdown.complete", ["reason": .string(reason)])
        exit(0)
    }

    private func reload() {
        guard let configPath else { return }
        let reloaded: Configuration
        do {
            reloaded = try Configuration.load(path: configPath, environment: environment)
        } catch {
            let path = (error as? ConfigError)?.path ?? ""
            Logger.shared.error("config.reload_failed", ["path": .string(path), "error": .string("\(error)")])
            return
        }
        let reloadedContexts: TLSContexts
        do {
            reloadedContexts = try reloadedTLS(reloaded)
        } catch {
            logTLSError("config.reload_failed", error)
            return
        }
        if reloaded.listen != configuration.listen || reloaded.adminListen != configuration.adminListen || reloaded.workers != configuration.workers {
            Logger.shared.warn("config.restart_needed", ["reason": .string("listen, admin_listen and workers change only on restart")])
        }
        configuration = reloaded
        tls = reloadedContexts
        Logger.shared.apply(reloaded.log)
        for worker in workers { worker.loop.post { worker.apply(reloaded, tls: reloadedContexts) } }
        Logger.shared.info("config.reloaded", ["file": .string(configPath)])
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
