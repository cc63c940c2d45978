import CLibev
import Foundation

/// `lifeline demo` (spec §9): in one process, on loopback only, a broadcast ticker
/// upstream, a Lifeline worker in front of it with short intervals, and a client that
/// checks the sequence it receives. Owns the three, the main loop (ticker, client, the
/// once-a-second status line, the end of the run, SIGINT/SIGTERM) and the exit code:
/// 0 when the client saw no gap and no duplicate, 1 otherwise.
///
/// Threads: the main thread runs the ticker and the client; Lifeline's worker runs on its
/// own loop and thread, as in the real server. The main thread reads the worker's metrics,
/// which are single-writer atomics.
public final class Demo {
    public static let defaultDuration = 15.0
    /// Ticker messages per second: enough to show the stream, modest on a busy machine.
    static let tickerRate = 200.0

    private let duration: Double
    private let mainLoop = EventLoop(useDefaultLoop: true)
    private var ticker: DemoTicker!
    private var client: DemoClient!
    private var worker: Worker!
    private var statusTimer: TimerWatcher!
    private var signals: [SignalWatcher] = []
    private var startedAt = 0.0
    private var previous = DemoFigures()
    private var exitCode: Int32 = 1
    private var finished = false

    public init(durationSeconds: Double?) {
        duration = durationSeconds ?? Demo.defaultDuration
    }

    /// Runs the demonstration to its end and returns the process exit code.
    public func run() -> Int32 {
        do {
            ticker = try DemoTicker(loop: mainLoop, rate: Demo.tickerRate)
            let configuration = try Configuration.parse(json: Array(Demo.configurationJSON(upstream: ticker.address).utf8),
                                                        environment: [:])
            Logger.shared.apply(configuration.log)
            worker = Worker(configuration: configuration, loop: EventLoop(useDefaultLoop: false))
            let lifelineAddress = try worker.listen(reusePort: false)
            // Like the server's workers, this one lives until the process exits: its loop
            // thread never stops, so it must never be released under it.
            _ = Unmanaged.passRetained(worker)
            let box = UncheckedBox(worker.loop)
            let thread = Thread { box.value.run() }
            thread.name = "lifeline-worker-0"
            thread.start()
            emit("lifeline demo: ticker ws://\(ticker.address)/feed (\(Int(Demo.tickerRate)) msgs/s)"
                 + " <- Lifeline ws://\(lifelineAddress) <- client")
            emit("pings every 1 s on both sides, upstream rotation every 3-4 s; \(String(format: "%g", duration)) s run, Ctrl-C stops early")
            client = DemoClient(loop: mainLoop)
            client.onFailure = { [unowned self] reason in finish(failure: reason) }
            ticker.start()
            client.connect(to: lifelineAddress)
        } catch {
            FileHandle.standardError.write(Data("lifeline demo: cannot start: \(error)\n".utf8))
            return 1
        }
        startedAt = mainLoop.now
        previous.elapsed = 0
        statusTimer = TimerWatcher(owner: self, callback: demoStatusCallback)
        statusTimer.arm(after: min(1, duration), loop: mainLoop.raw)
        for number in [SIGINT, SIGTERM] {
            let watcher = SignalWatcher(owner: self, signal: number, callback: demoSignalCallback)
            watcher.start(loop: mainLoop.raw)
            signals.append(watcher)
        }
        mainLoop.run()
        return exitCode
    }

    /// Lifeline's configuration for the demo: short intervals, make-before-break rotation
    /// with the subscribe replayed and hand-over duplicates dropped; no admin port.
    static func configurationJSON(upstream: SocketAddress) -> String {
        """
        {
          "listen": "127.0.0.1:0",
          "admin_listen": null,
          "workers": 1,
          "log": { "level": "warn", "format": "text" },
          "downstream": { "ping_interval_seconds": 1, "pong_timeout_seconds": 0.5 },
          "upstream": {
            "url": "ws://\(upstream)/feed",
            "ping_interval_seconds": 1, "pong_timeout_seconds": 0.5,
            "max_lifetime_seconds": 4, "rotation_jitter_seconds": 1,
            "replay": { "mode": "all" },
            "dedupe_window": 4096
          }
        }
        """
    }

    fileprivate func statusDue() {
        let elapsed = mainLoop.now - startedAt
        let now = figures(elapsed: elapsed)
        emit(DemoReport.statusLine(now, previous: previous))
        previous = now
        if elapsed >= duration - 0.001 { return finish(failure: nil) }
        let next = min((elapsed + 0.001).rounded(.down) + 1, duration)
        statusTimer.arm(after: next - elapsed, loop: mainLoop.raw)
    }

    fileprivate func signalled() {
        emit("interrupted")
        finish(failure: nil)
    }

    private func finish(failure: String?) {
        guard !finished else { return }
        finished = true
        statusTimer.disarm(loop: mainLoop.raw)
        let final = figures(elapsed: mainLoop.now - startedAt)
        for line in DemoReport.summary(final, failure: failure) { emit(line) }
        exitCode = failure == nil && final.gaps == 0 && final.duplicates == 0 ? 0 : 1
        mainLoop.stop()
    }

    private func figures(elapsed: Double) -> DemoFigures {
        let metrics = worker.metrics
        var f = DemoFigures()
        f.elapsed = elapsed
        f.messages = client.messages
        f.gaps = client.gaps
        f.missing = client.missing
        f.duplicates = client.duplicates
        f.tickerSeq = ticker.lastSeq
        f.upstreamConnections = ticker.connectionsAccepted
        f.pingsDown = metrics.pingsSent(.downstream).value
        f.pingsUp = metrics.pingsSent(.upstream).value
        f.pongsDown = metrics.pongsReceived(.downstream).value
        f.pongsUp = metrics.pongsReceived(.upstream).value
        f.rttDown = metrics.pongRTT(.downstream).snapshot()
        f.rttUp = metrics.pongRTT(.upstream).snapshot()
        f.rotations = RotationReason.allCases.map { ($0.label, metrics.rotations($0).value) }
        f.deduplicated = metrics.deduplicatedMessages.value
        return f
    }

    /// One line on stdout, flushed at once so a pipe sees it live.
    private func emit(_ line: String) {
        print(line)
        fflush(stdout)
    }
}

@available(*, unavailable)
extension Demo: Sendable {}

private let demoStatusCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<Demo>.fromOpaque(watcher!.pointee.data!).takeUnretainedValue().statusDue()
}

private let demoSignalCallback: lifeline_ev_signal_cb = { _, watcher, _ in
    Unmanaged<Demo>.fromOpaque(watcher!.pointee.data!).takeUnretainedValue().signalled()
}
