import Synchronization

/// A monotonic count with one writer thread and any number of reader threads. Owns one
/// atomic word. The writer adds with a relaxed load and a relaxed store (plain moves, no
/// locked read-modify-write), which is exact because nobody else writes; readers see some
/// recent value, never a torn one.
public final class RelaxedCounter: Sendable {
    private let storage = Atomic<Int>(0)

    public init() {}

    /// Adds `n` (≥ 0). Only the owning thread may call this.
    @inline(__always)
    public func add(_ n: Int = 1) {
        assert(n >= 0, "a counter only goes up")
        storage.store(storage.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    /// The current count; safe from any thread.
    public var value: Int { storage.load(ordering: .relaxed) }
}
