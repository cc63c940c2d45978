import Synchronization

/// A floating-point level (a timestamp in seconds) with one writer thread and any number of
/// reader threads. Owns one atomic word holding the value's bit pattern, so a reader never
/// sees half of an update.
public final class RelaxedDoubleGauge: Sendable {
    private let bits = Atomic<UInt64>(0)   // 0.0's bit pattern

    public init() {}

    /// Replaces the value. Only the owning thread may call this.
    @inline(__always)
    public func set(_ v: Double) { bits.store(v.bitPattern, ordering: .relaxed) }

    /// The current value; safe from any thread.
    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}
