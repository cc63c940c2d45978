/// Which downstream→upstream messages a session remembers and re-sends on a
/// new upstream connection (`upstream.replay`, spec §4).
public enum ReplayMode: String, CaseIterable, Sendable {
    case all, none, match
}

/// `upstream.replay`: the replay policy and the bounds on what is remembered.
public struct ReplaySettings: Equatable, Sendable {
    /// all, none, or match (only text messages matching `match`).
    public var mode: ReplayMode
    /// Regular expression for mode = match; validated even when unused.
    public var match: String?
    /// Messages (count) remembered per session; oldest dropped first.
    public var maxMessages: Int
    /// Bytes of payload remembered per session; oldest dropped first.
    public var maxBytes: Int

    public init(mode: ReplayMode = .all, match: String? = nil, maxMessages: Int = 64, maxBytes: Int = 65536) {
        self.mode = mode
        self.match = match
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
    }
}

extension ReplaySettings {
    static let boundRange = NumberRange(0, 1_000_000)

    init(from object: ConfigObject?) throws {
        self.init()
        guard let object else { return }
        mode = try object.choice("mode", default: mode)
        match = try object.regex("match")
        maxMessages = try object.int("max_messages", Self.boundRange, default: maxMessages)
        maxBytes = try object.int("max_bytes", Self.boundRange, default: maxBytes)
        if mode == .match, match == nil {
            throw ConfigError.missing(object.path("match"), when: "\(object.path("mode")) = \"match\"")
        }
    }

    var json: JSONValue {
        .object([("mode", .string(mode.rawValue)), ("match", match.map(JSONValue.string) ?? .null),
                 ("max_messages", .number(maxMessages)), ("max_bytes", .number(maxBytes))])
    }
}
