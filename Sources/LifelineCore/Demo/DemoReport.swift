import Foundation

/// One reading of every figure the demo shows: the client's own counts and Lifeline's
/// metrics, taken together on the main thread. Pure values, so the text is testable.
struct DemoFigures {
    var elapsed: Double = 0
    /// What the client received and found wrong with the sequence.
    var messages = 0
    var gaps = 0
    var missing = 0
    var duplicates = 0
    /// Sequence numbers the ticker has broadcast, and upstream connections it accepted.
    var tickerSeq = 0
    var upstreamConnections = 0
    /// Lifeline's pings per side (downstream = to the client, upstream = to the ticker).
    var pingsDown = 0
    var pingsUp = 0
    var pongsDown = 0
    var pongsUp = 0
    var rttDown = RelaxedHistogram.Snapshot(upperBounds: WorkerMetrics.pongRTTBuckets)
    var rttUp = RelaxedHistogram.Snapshot(upperBounds: WorkerMetrics.pongRTTBuckets)
    /// Completed upstream replacements by reason (label → count), and the hand-over duplicates Lifeline dropped.
    var rotations: [(reason: String, count: Int)] = []
    var deduplicated = 0

    var rotationCount: Int { rotations.reduce(0) { $0 + $1.count } }
}

/// Owns the wording of the demo's output: the live line printed every second and the
/// closing summary. `gaps = N` and `duplicates = N` are part of its contract (tests read them).
enum DemoReport {
    /// One line: totals so far, the last interval's message rate and mean pong RTT per side.
    static func statusLine(_ now: DemoFigures, previous: DemoFigures) -> String {
        let interval = max(now.elapsed - previous.elapsed, 0.001)
        let rate = Double(now.messages - previous.messages) / interval
        return "t=\(Int(now.elapsed.rounded()))s"
            + "  msgs=\(now.messages) (\(Int(rate.rounded()))/s)"
            + "  pings down/up=\(now.pingsDown)/\(now.pingsUp)"
            + "  rtt down/up=\(meanRTT(now.rttDown, since: previous.rttDown))/\(meanRTT(now.rttUp, since: previous.rttUp))"
            + "  rotations=\(now.rotationCount)"
            + "  deduped=\(now.deduplicated)"
            + "  gaps=\(now.gaps)  dups=\(now.duplicates)"
    }

    /// The closing block; `failure` is why the run stopped early, if it did.
    static func summary(_ f: DemoFigures, failure: String?) -> [String] {
        let rate = f.elapsed > 0 ? Int((Double(f.messages) / f.elapsed).rounded()) : 0
        let reasons = f.rotations.filter { $0.count > 0 }.map { "\($0.reason) \($0.count)" }.joined(separator: ", ")
        var lines = [
            "",
            "--- lifeline demo summary (\(String(format: "%.1f", f.elapsed)) s) ---",
            "messages      \(f.messages) received by the client (\(rate)/s); the ticker broadcast \(f.tickerSeq)",
            "pings         \(f.pingsDown) downstream (\(f.pongsDown) pongs), \(f.pingsUp) upstream (\(f.pongsUp) pongs)",
            "median RTT    downstream \(median(f.rttDown)), upstream \(median(f.rttUp))"
                + "  (mean \(meanRTT(f.rttDown, since: nil)) / \(meanRTT(f.rttUp, since: nil)))",
            "rotations     \(f.rotationCount)\(reasons.isEmpty ? "" : " (\(reasons))"), \(f.upstreamConnections) upstream connections",
            "deduplicated  \(f.deduplicated) messages delivered by both upstream connections during a hand-over, dropped by Lifeline",
            "gaps = \(f.gaps)\(f.missing > 0 ? " (\(f.missing) sequence numbers missing)" : "")",
            "duplicates = \(f.duplicates)",
        ]
        if let failure { lines.append("FAILED: \(failure)") }
        if f.gaps > 0 || f.duplicates > 0 { lines.append("FAILED: the client saw \(f.gaps) gaps and \(f.duplicates) duplicates") }
        if failure == nil && f.gaps == 0 && f.duplicates == 0 {
            lines.append("OK: no gap and no duplicate across \(f.rotationCount) rotation\(f.rotationCount == 1 ? "" : "s")")
        }
        return lines
    }

    /// Mean round-trip time of the pongs observed after `since` (all of them when nil), e.g. "0.21ms"; "-" when none.
    static func meanRTT(_ now: RelaxedHistogram.Snapshot, since: RelaxedHistogram.Snapshot?) -> String {
        let count = now.count - (since?.count ?? 0)
        guard count > 0 else { return "-" }
        return milliseconds((now.sum - (since?.sum ?? 0)) / Double(count))
    }

    /// The median as the histogram can tell it: the upper bound of the bucket holding it.
    static func median(_ snapshot: RelaxedHistogram.Snapshot) -> String {
        guard snapshot.count > 0 else { return "-" }
        let half = (snapshot.count + 1) / 2
        guard let index = snapshot.cumulativeCounts.firstIndex(where: { $0 >= half }), index < snapshot.upperBounds.count else {
            return "> \(milliseconds(snapshot.upperBounds.last ?? 0))"
        }
        return "≤ \(milliseconds(snapshot.upperBounds[index]))"
    }

    static func milliseconds(_ seconds: Double) -> String {
        let ms = seconds * 1000
        return String(format: ms < 10 ? "%.2fms" : "%.0fms", ms)
    }
}
