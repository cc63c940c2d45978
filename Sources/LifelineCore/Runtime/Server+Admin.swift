import CLibev

/// The admin endpoints of spec §5, answered on the main loop. Anything a worker owns is
/// asked of its loop through its mailbox and gathered back here, with a deadline, so a
/// stuck worker turns `/healthz` red instead of hanging the admin server.
extension Server {
    static let workerAnswerDeadline = 1.0

    func handleAdmin(_ request: AdminRequest, respond: @escaping (AdminResponse) -> Void) {
        switch request.path {
        case "/healthz":
            gather({ _ in true }) { answers in
                let healthy = answers.allSatisfy { $0 == true }
                respond(.text(healthy ? 200 : 503, healthy ? "ok\n" : "event loop not responding\n"))
            }
        case "/readyz":
            respond(.text(isDraining ? 503 : 200, isDraining ? "draining\n" : "ready\n"))
        case "/metrics":
            gather({ worker in worker.refreshOldestUpstream(); return true }) { [unowned self] _ in
                let body = MetricsExposition.render(self.workers.map(\.metrics), now: ev_time(), process: ProcessMetrics.read())
                respond(AdminResponse(status: 200, contentType: MetricsExposition.contentType, body: Array(body.utf8)))
            }
        case "/connections":
            gather({ worker in worker.snapshots() }) { answers in
                respond(.json(200, SessionSnapshot.jsonArray(answers.compactMap { $0 }.flatMap { $0 })))
            }
        default:
            respond(.text(404, "not found\n"))
        }
    }

    /// Runs `job` on every worker's loop and calls `completion` on the main loop with the
    /// answers in worker order (nil for a worker that missed the deadline).
    func gather<T>(_ job: @escaping (Worker) -> T, completion: @escaping ([T?]) -> Void) {
        let gathering = Gathering<T>(count: workers.count, loop: mainLoop, deadline: Server.workerAnswerDeadline, completion: completion)
        for (index, worker) in workers.enumerated() {
            let box = UncheckedBox((worker, job, gathering, mainLoop))
            worker.loop.post {
                let (worker, job, gathering, mainLoop) = box.value
                let answer = UncheckedBox(job(worker))
                mainLoop.post { gathering.deliver(answer.value, at: index) }
            }
        }
    }
}

/// Non-generic base of `Gathering`, so one C timer callback serves every `Gathering<T>`.
class DeadlineWaiter {
    func deadlinePassed() {}
}

/// Answers from the workers to one admin request, completed when all are in or at the
/// deadline. Kept alive by the jobs posted to the workers until each has answered.
final class Gathering<T>: DeadlineWaiter {
    private var answers: [T?]
    private var remaining: Int
    private var completion: (([T?]) -> Void)?
    private var timer: TimerWatcher!
    private let loop: EventLoop

    init(count: Int, loop: EventLoop, deadline: Double, completion: @escaping ([T?]) -> Void) {
        answers = Array(repeating: nil, count: count)
        remaining = count
        self.loop = loop
        self.completion = completion
        super.init()
        timer = TimerWatcher(owner: self, callback: deadlineWaiterCallback)
        if count == 0 { finish() } else { timer.arm(after: deadline, loop: loop.raw) }
    }

    deinit { timer.free(loop: loop.raw) }

    func deliver(_ answer: T, at index: Int) {
        guard completion != nil else { return }
        answers[index] = answer
        remaining -= 1
        if remaining == 0 { finish() }
    }

    override func deadlinePassed() { finish() }

    private func finish() {
        guard let completion else { return }
        self.completion = nil
        timer.disarm(loop: loop.raw)
        completion(answers)
    }
}

private let deadlineWaiterCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<DeadlineWaiter>.fromOpaque(watcher!.pointee.data!).takeUnretainedValue().deadlinePassed()
}
