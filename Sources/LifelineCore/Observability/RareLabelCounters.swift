import Synchronization

/// Counters for a label with an open-ended value set (protocol error code, HTTP status,
/// connect failure reason), counted rarely. Owns a lock-protected dictionary from label value
/// to count; any thread may add. With `maxKeys`, values beyond that many distinct ones are
/// counted under `overflowKey`, so a caller passing free text cannot grow the series without end.
final class RareLabelCounters<Key: Hashable & Sendable>: Sendable {
    private let table = Mutex<[Key: Int]>([:])
    private let maxKeys: Int
    private let overflowKey: Key?

    init(maxKeys: Int = .max, overflowKey: Key? = nil) {
        self.maxKeys = maxKeys
        self.overflowKey = overflowKey
    }

    func add(_ key: Key, _ n: Int = 1) {
        table.withLock { counts in
            if counts[key] == nil, counts.count >= maxKeys, let overflowKey {
                counts[overflowKey, default: 0] += n
            } else {
                counts[key, default: 0] += n
            }
        }
    }

    /// A copy of every series so far.
    func snapshot() -> [Key: Int] {
        table.withLock { counts in counts }
    }
}

/// The label pair of `lifeline_protocol_errors_total`; sorts by side, then code.
struct ProtocolErrorKey: Hashable, Comparable, Sendable {
    var side: MetricSide
    var code: UInt16

    static func < (a: ProtocolErrorKey, b: ProtocolErrorKey) -> Bool {
        (a.side.rawValue, a.code) < (b.side.rawValue, b.code)
    }
}
