import Synchronization

/// `downstream.max_connections` across all workers: one shared count of app
/// connections, taken at accept and given back when the session ends.
public final class ConnectionLimit: Sendable {
    public let maximum: Int
    private let current = Atomic<Int>(0)

    public init(maximum: Int) { self.maximum = maximum }

    /// Takes a place, or false when all are taken.
    public func acquire() -> Bool {
        let taken = current.wrappingAdd(1, ordering: .relaxed).newValue
        if taken <= maximum { return true }
        current.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    public func release() { current.wrappingSubtract(1, ordering: .relaxed) }

    public var count: Int { current.load(ordering: .relaxed) }
}
