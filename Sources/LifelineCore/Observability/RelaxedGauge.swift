import Synchronization

/// An integer level (sessions, connections) with one writer thread and any number of
/// reader threads. Owns one atomic word; writes are a relaxed load and a relaxed store.
public final class RelaxedGauge: Sendable {
    private let storage = Atomic<Int>(0)

    public init() {}

    /// Adds `n` (may be negative). Only the owning thread may call this.
    @inline(__always)
    public func add(_ n: Int) {
        storage.store(storage.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    /// Replaces the level. Only the owning thread may call this.
    @inline(__always)
    public func set(_ v: Int) { storage.store(v, ordering: .relaxed) }

    /// The current level; safe from any thread.
    public var value: Int { storage.load(ordering: .relaxed) }
}
