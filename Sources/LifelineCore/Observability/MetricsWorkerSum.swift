/// Combines one metric across every worker at scrape time. Owns nothing but the list of
/// workers; each helper reads every worker's value once (relaxed loads) and folds them.
struct WorkerSum {
    let workers: [WorkerMetrics]

    init(_ workers: [WorkerMetrics]) { self.workers = workers }

    /// Counters and gauges add up.
    func sum(_ value: (WorkerMetrics) -> Int) -> Int {
        workers.reduce(0) { $0 + value($1) }
    }

    /// Timestamps take the latest (0 when no worker has one).
    func max(_ value: (WorkerMetrics) -> Double) -> Double {
        workers.reduce(0) { Swift.max($0, value($1)) }
    }

    /// Histograms add bucket by bucket.
    func histogram(bounds: [Double], _ histogram: (WorkerMetrics) -> RelaxedHistogram) -> RelaxedHistogram.Snapshot {
        workers.reduce(RelaxedHistogram.Snapshot(upperBounds: bounds)) { $0.merged(with: histogram($1).snapshot()) }
    }

    /// Open-ended label families add up per label value.
    func rare<Key>(_ table: (WorkerMetrics) -> RareLabelCounters<Key>) -> [Key: Int] {
        var total: [Key: Int] = [:]
        for worker in workers {
            total.merge(table(worker).snapshot(), uniquingKeysWith: +)
        }
        return total
    }

    /// Seconds since the earliest non-zero `oldestUpstreamConnectedAt`; 0 when no worker has an
    /// upstream connection, never negative (clock steps).
    func oldestAge(now: Double) -> Double {
        let starts = workers.map { $0.oldestUpstreamConnectedAt.value }.filter { $0 > 0 }
        guard let earliest = starts.min() else { return 0 }
        return Swift.max(0, now - earliest)
    }
}
