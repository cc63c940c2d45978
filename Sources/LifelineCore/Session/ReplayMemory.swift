/// The app→upstream messages a session remembers to re-send on a new upstream
/// connection (spec `upstream.replay`, §4). Owns the policy (which messages)
/// and the bounds; the bytes live in a `ReplayByteRing`.
///
/// Mode all = every text and binary message, none = nothing, match = text
/// messages the matcher matches (no matcher = none match; config validation
/// requires one). Control opcodes and continuations are never messages here.
/// At most `maxMessages` messages and `maxBytes` payload bytes are kept; the
/// oldest are dropped first to make room. A message that cannot be kept even
/// alone (larger than maxBytes, or maxMessages = 0) is not remembered, leaves
/// the older ones in place and counts as 1 dropped. An empty payload costs no
/// bytes. Storage is allocated on the first remembered message, grows to the
/// session's working size and is reused; `remember` does not allocate once there.
public struct ReplayMemory {
    public let settings: ReplaySettings
    private let matcher: MessageMatcher?
    private var ring: ReplayByteRing

    public init(settings: ReplaySettings, matcher: MessageMatcher?) {
        self.settings = settings
        self.matcher = matcher
        ring = ReplayByteRing(maxMessages: max(settings.maxMessages, 0), maxBytes: max(settings.maxBytes, 0))
    }

    /// Offers a whole message that was just sent upstream. Returns how many
    /// messages were dropped: older ones evicted to make room, or 1 when this
    /// one cannot be kept at all. 0 when the mode does not want it.
    public mutating func remember(opcode: Opcode, payload: UnsafeRawBufferPointer) -> Int {
        guard wants(opcode: opcode, payload: payload) else { return 0 }
        let length = payload.count
        guard settings.maxMessages > 0, length <= settings.maxBytes else { return 1 }
        var dropped = 0
        while ring.count >= settings.maxMessages || ring.byteCount + length > settings.maxBytes {
            ring.removeFirst()
            dropped += 1
        }
        ring.append(opcode: opcode, payload: payload)
        return dropped
    }

    /// Calls `body` with each remembered message, oldest first. The buffer is
    /// valid only during the call.
    public func forEach(_ body: (Opcode, UnsafeRawBufferPointer) -> Void) {
        ring.forEach(body)
    }

    /// Messages remembered.
    public var count: Int { ring.count }
    /// Payload bytes remembered.
    public var byteCount: Int { ring.byteCount }

    /// Forgets every message, keeping the storage.
    public mutating func removeAll() {
        ring.removeAll()
    }

    /// Whether the mode asks for this message at all, before the bounds.
    private func wants(opcode: Opcode, payload: UnsafeRawBufferPointer) -> Bool {
        guard opcode == .text || opcode == .binary else { return false }
        switch settings.mode {
        case .all: return true
        case .none: return false
        case .match: return opcode == .text && (matcher?.matches(payload) ?? false)
        }
    }
}
