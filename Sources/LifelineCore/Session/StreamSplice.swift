/// De-duplication and splicing of the upstream→app stream during a
/// make-before-break hand-over (spec §4, `upstream.dedupe_window`). "Old" is
/// the connection being replaced, "new" the incoming one. Owns the message
/// keys (hash + length) only: the runtime keeps the held messages' bytes in a
/// queue of its own, in the same order.
///
/// Goal, for a broadcast stream (both connections deliver the same messages
/// with identical bytes): the app sees old's messages up to some point, then
/// new's from exactly the next one — no gap, no duplicate, in order.
///
/// - Every message old relays goes into a history of the last `window` keys.
/// - A message from new that is in the history is a duplicate: `.drop`. With
///   nothing held it proves alignment (new is at or behind old).
/// - A message from new not in the history, before alignment, is `.hold`: new
///   may be ahead of old. When old later relays a message equal to the held
///   head, `.relayAndDiscardHeldHead`: the runtime relays old's copy and throws
///   away its held copy; alignment is proven when the held queue empties.
/// - Once aligned, the first message from new not in the history is fresh:
///   `.switchNow`. The held queue is always empty then. The runtime relays it
///   and, from then on, relays new without calling `newMessage` (calls after
///   the switch change nothing and return `.switchNow` = relay) and drops
///   everything old sends without calling `oldMessage` (calls then change
///   nothing and return `.relay`, which the runtime ignores); it closes old.
/// - When old ends without a switch (drained, closed or dead), `oldClosed`
///   settles the held messages one by one (relay, or drop as already
///   delivered) and the splice goes on without old: duplicates dropped, the
///   first fresh message switches.
/// - When new ends first (`newClosed`: it died during the overlap), old stays
///   the stream and the splice stays in place: what new delivered ahead stays
///   held until old relays the same bytes (discarded) or ends (`oldClosed`
///   relays what old never delivered); new's remaining messages are held or
///   dropped, never switched to. The next connection reuses the splice after
///   `newOpened`, behind whatever is still held.
///
/// The runtime creates the splice when it starts connecting the new upstream,
/// before new can deliver anything, so that whatever new sends first is
/// already in old's history if old relayed it.
///
/// Limits, all resolved by the runtime's overlap timeout and `oldClosed`:
/// - Disjoint streams (new never sends what old sends) never align; the held
///   queue grows with every message from new.
/// - A lag larger than `window` never aligns either: new's first messages fell
///   out of the history and are held, and old never relays them again.
/// - A message only new sends before alignment (e.g. a reply to a replayed
///   request) stays at the held head, so old's later messages do not discard
///   the held ones behind it; `oldClosed` then relays that reply and drops the
///   held messages old did deliver.
/// - Equal bytes are equal messages: a stream that repeats identical messages
///   may align on the wrong copy.
///
/// Window 0 = de-duplication off: the first message from new is `.switchNow`.
/// Memory: the history ring and its hash table are allocated on first use and
/// grow with the messages seen, up to `window` entries.
public struct StreamSplice {
    public enum NewMessageAction: Equatable, Sendable {
        /// Already relayed from old: discard new's copy (counted in duplicatesDropped).
        case drop
        /// Possibly ahead of old: the runtime queues its bytes.
        case hold
        /// Fresh: relay it; new is the stream from now on.
        case switchNow
    }

    public enum OldMessageAction: Equatable, Sendable {
        /// Relay old's message.
        case relay
        /// Relay old's message and discard the oldest held message from new (the same bytes).
        case relayAndDiscardHeldHead
    }

    /// Old's messages remembered for de-duplication (`upstream.dedupe_window`).
    public let window: Int
    private var history: GrowableRing<MessageKey>
    private var historyCounts: KeyCountTable
    private var held: GrowableRing<MessageKey>
    /// True once new is proven to be at or behind old with nothing held.
    public private(set) var isAligned = false
    /// New's messages dropped as duplicates of old's (including at `oldClosed`).
    public private(set) var duplicatesDropped = 0
    /// True once `newMessage` has returned `.switchNow`: new is the stream.
    public private(set) var hasSwitched = false
    /// True after `oldClosed`.
    public private(set) var isOldClosed = false
    /// True after `newClosed` (until `newOpened`): old stays the stream.
    public private(set) var isNewClosed = false

    public init(window: Int) {
        self.window = max(window, 0)
        let empty = MessageKey(hash: 0, length: 0)
        history = GrowableRing(filler: empty, maxCapacity: self.window)
        historyCounts = KeyCountTable(maxDistinct: self.window)
        held = GrowableRing(filler: empty)
    }

    /// Messages from new held so far, awaiting old.
    public var heldCount: Int { held.count }

    /// Old relayed a message with this hash and length.
    public mutating func oldMessage(hash: UInt64, length: Int) -> OldMessageAction {
        guard !hasSwitched, !isOldClosed, window > 0 else { return .relay }
        let key = MessageKey(hash: hash, length: length)
        if history.isFull { historyCounts.remove(history.removeFirst()) }
        history.append(key)
        historyCounts.insert(key)
        guard let head = held.first, head == key else { return .relay }
        held.removeFirst()
        if held.isEmpty { isAligned = true }
        return .relayAndDiscardHeldHead
    }

    /// New delivered a message with this hash and length.
    public mutating func newMessage(hash: UInt64, length: Int) -> NewMessageAction {
        guard !hasSwitched else { return .switchNow }
        guard window > 0 else {
            hasSwitched = true
            return .switchNow
        }
        let key = MessageKey(hash: hash, length: length)
        if historyCounts.contains(key) {
            duplicatesDropped += 1
            if held.isEmpty, !isOldClosed { isAligned = true }
            return .drop
        }
        if isNewClosed && !isOldClosed {
            // New is gone: old will deliver this itself, or relay it at `oldClosed`.
            held.append(key)
            return .hold
        }
        if isAligned || isOldClosed {
            hasSwitched = true
            return .switchNow
        }
        held.append(key)
        return .hold
    }

    /// New died before the switch: old stays the stream, and what new delivered
    /// stays held until old delivers it or ends (see the type's comment).
    public mutating func newClosed() {
        guard !hasSwitched else { return }
        isNewClosed = true
        isAligned = false
    }

    /// A further connection takes the dead one's place in this splice. Its messages
    /// queue behind what is still held; alignment must be proven anew.
    public mutating func newOpened() {
        guard !hasSwitched else { return }
        isNewClosed = false
        isAligned = false
    }

    /// Old will relay nothing more (drained and closed, or dead) and no switch
    /// has happened. Calls `body` once per held message, oldest first: true =
    /// relay it now, false = drop it (old relayed the same bytes within the
    /// window); the held queue is empty afterwards. From then on `newMessage`
    /// still drops what old relayed (new may lag) and switches at the first
    /// fresh message.
    public mutating func oldClosed(_ body: (_ relay: Bool) -> Void) {
        guard !hasSwitched, !isOldClosed else { return }
        isOldClosed = true
        while let key = held.first {
            held.removeFirst()
            let duplicate = historyCounts.contains(key)
            if duplicate { duplicatesDropped += 1 }
            body(!duplicate)
        }
    }
}
