/// Rate limit for log lines about misbehaving peers: the first line about a peer address (an
/// IP, never a port) goes out, further lines about it are held back for `window` seconds and
/// counted, and the next line let through after the window reports that count. Owns a
/// fixed-size table of peers; when it is full, the entry whose window started earliest is
/// evicted (its held-back count is dropped — the metrics keep the exact totals), so a flood of
/// distinct addresses cannot grow it. Pure: time is a parameter. One per worker and side,
/// used only on that worker's loop thread.
struct PeerLogLimiter {
    /// What to do with one line about a peer.
    enum Decision: Equatable {
        /// Write it, with how many lines about this peer were held back since the last one written.
        case log(suppressed: Int)
        /// Hold it back (counted).
        case suppress
    }

    /// One peer's window.
    private struct Entry {
        var peer: String
        var windowStart: Double
        var suppressed: Int
    }

    let capacity: Int
    let window: Double
    private var entries: [Entry] = []
    private var slotByPeer: [String: Int] = [:]

    /// - Parameters:
    ///   - capacity: peers remembered at once (≥ 1).
    ///   - window: seconds during which further lines about a peer are held back.
    init(capacity: Int = 1024, window: Double = 60) {
        precondition(capacity >= 1, "a limiter needs room for one peer")
        self.capacity = capacity
        self.window = window
    }

    /// Peers currently remembered.
    var count: Int { entries.count }

    /// Decides about one line concerning `peer` at time `now` (seconds, any monotonic origin).
    mutating func admit(_ peer: String, now: Double) -> Decision {
        if let slot = slotByPeer[peer] {
            if now - entries[slot].windowStart < window {
                entries[slot].suppressed += 1
                return .suppress
            }
            let held = entries[slot].suppressed
            entries[slot].windowStart = now
            entries[slot].suppressed = 0
            return .log(suppressed: held)
        }
        let entry = Entry(peer: peer, windowStart: now, suppressed: 0)
        if entries.count < capacity {
            slotByPeer[peer] = entries.count
            entries.append(entry)
        } else {
            let oldest = entries.indices.min { entries[$0].windowStart < entries[$1].windowStart }!
            slotByPeer[entries[oldest].peer] = nil
            slotByPeer[peer] = oldest
            entries[oldest] = entry
        }
        return .log(suppressed: 0)
    }
}
