import Synchronization

/// A fixed-bucket histogram (Prometheus semantics: an observation counts in every bucket whose
/// upper bound `le` it does not exceed) with one writer thread and any number of reader
/// threads. Owns one non-cumulative count per bucket plus an overflow count, and the sum.
/// `observe` bumps exactly one count and the sum, with relaxed loads and stores; `snapshot`
/// makes the counts cumulative, so `_count` always equals the `+Inf` bucket.
public final class RelaxedHistogram: Sendable {
    /// Finite, strictly increasing upper bounds; `+Inf` is implicit.
    public let upperBounds: [Double]
    /// `upperBounds.count + 1` counts; the last is for observations above every bound.
    private let counts: [RelaxedCounter]
    private let sumBits = Atomic<UInt64>(0)

    /// - Parameter buckets: strictly increasing upper bounds; a trailing `+Inf` is dropped.
    public init(buckets: [Double]) {
        let finite = buckets.last == .infinity ? Array(buckets.dropLast()) : buckets
        precondition(finite.allSatisfy(\.isFinite), "histogram bounds must be finite (+Inf is implicit)")
        precondition(zip(finite, finite.dropFirst()).allSatisfy { $0 < $1 }, "histogram bounds must increase")
        upperBounds = finite
        counts = (0...finite.count).map { _ in RelaxedCounter() }
    }

    /// Records `v`; NaN is ignored. Only the owning thread may call this.
    public func observe(_ v: Double) {
        guard !v.isNaN else { return }
        var index = 0
        while index < upperBounds.count && v > upperBounds[index] { index += 1 }
        counts[index].add()
        let sum = Double(bitPattern: sumBits.load(ordering: .relaxed)) + v
        sumBits.store(sum.bitPattern, ordering: .relaxed)
    }

    /// The current state, cumulative, for rendering; safe from any thread.
    public func snapshot() -> Snapshot {
        var running = 0
        let cumulative = counts.map { counter -> Int in
            running += counter.value
            return running
        }
        return Snapshot(upperBounds: upperBounds, cumulativeCounts: cumulative,
                        sum: Double(bitPattern: sumBits.load(ordering: .relaxed)))
    }

    /// A histogram's state as rendered: cumulative bucket counts (the last one is `+Inf`) and the sum.
    public struct Snapshot: Equatable, Sendable {
        public var upperBounds: [Double]
        /// One per upper bound, then one for `+Inf`.
        public var cumulativeCounts: [Int]
        public var sum: Double

        /// The number of observations (the `+Inf` bucket).
        public var count: Int { cumulativeCounts.last ?? 0 }

        /// An empty histogram with these bounds.
        public init(upperBounds: [Double]) {
            self.init(upperBounds: upperBounds, cumulativeCounts: Array(repeating: 0, count: upperBounds.count + 1), sum: 0)
        }

        public init(upperBounds: [Double], cumulativeCounts: [Int], sum: Double) {
            self.upperBounds = upperBounds
            self.cumulativeCounts = cumulativeCounts
            self.sum = sum
        }

        /// Bucket-by-bucket sum of two histograms with the same bounds (workers' shares).
        public func merged(with other: Snapshot) -> Snapshot {
            precondition(upperBounds == other.upperBounds, "only histograms with the same buckets merge")
            return Snapshot(upperBounds: upperBounds,
                            cumulativeCounts: zip(cumulativeCounts, other.cumulativeCounts).map { $0 + $1 },
                            sum: sum + other.sum)
        }
    }
}
