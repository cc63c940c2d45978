/// Every configuration key path of spec §2 and the JSON kind it takes. The
/// single list of key names: the decoder checks objects against it (unknown
/// keys are errors) and the environment layer derives `LIFELINE_*` names from it.
enum ConfigSchema {
    /// What JSON a key takes; used to pick its children and to interpret environment text.
    enum Kind: Equatable {
        case object, nullableObject, stringMap
        case string, nullableString, number, integer, integerOrAuto, bool

        /// Keys whose environment value is kept as raw text even when it looks
        /// like a JSON number or boolean (a regex `123`, a server name `true`).
        var prefersRawText: Bool { self == .string || self == .nullableString }
    }

    /// All key paths, parents before children, in the order of the spec's example.
    static let entries: [(path: String, kind: Kind)] = [
        ("listen", .string), ("admin_listen", .nullableString), ("workers", .integerOrAuto),
        ("shutdown_grace_seconds", .number),
        ("log", .object), ("log.level", .string), ("log.format", .string),
        ("downstream", .object),
        ("downstream.ping_interval_seconds", .number), ("downstream.pong_timeout_seconds", .number),
        ("downstream.slow_after_missed_pongs", .integer), ("downstream.max_missed_pongs", .integer),
        ("downstream.handshake_timeout_seconds", .number), ("downstream.max_connections", .integer),
        ("downstream.tls", .nullableObject),
        ("downstream.tls.cert_file", .string), ("downstream.tls.key_file", .string),
        ("upstream", .object), ("upstream.url", .string), ("upstream.connect_timeout_seconds", .number),
        ("upstream.ping_interval_seconds", .number), ("upstream.pong_timeout_seconds", .number),
        ("upstream.slow_after_missed_pongs", .integer), ("upstream.max_missed_pongs", .integer),
        ("upstream.max_lifetime_seconds", .number), ("upstream.rotation_jitter_seconds", .number),
        ("upstream.rotate_on_match", .nullableString), ("upstream.on_close", .string),
        ("upstream.reconnect", .object),
        ("upstream.reconnect.initial_delay_seconds", .number), ("upstream.reconnect.max_delay_seconds", .number),
        ("upstream.reconnect.multiplier", .number), ("upstream.reconnect.jitter", .number),
        ("upstream.reconnect.max_attempts", .integer),
        ("upstream.replay", .object), ("upstream.replay.mode", .string), ("upstream.replay.match", .nullableString),
        ("upstream.replay.max_messages", .integer), ("upstream.replay.max_bytes", .integer),
        ("upstream.dedupe_window", .integer), ("upstream.headers", .stringMap),
        ("upstream.tls", .object), ("upstream.tls.verify", .bool),
        ("upstream.tls.ca_file", .nullableString), ("upstream.tls.server_name", .nullableString),
        ("limits", .object), ("limits.max_message_bytes", .integer), ("limits.max_buffered_bytes", .integer),
    ]

    /// `environmentName(for:)` of each entry, in `entries` order. Computed once:
    /// the schema is constant, and every configuration parse (and reload) needs all of them.
    static let environmentNames: [String] = entries.map { environmentName(for: $0.path) }

    /// The direct child key names of each object path ("" = top level), in schema order.
    private static let childKeys: [String: [String]] = {
        var children: [String: [String]] = [:]
        for (path, _) in entries {
            let dot = path.lastIndex(of: ".")
            let parent = dot.map { String(path[..<$0]) } ?? ""
            let name = dot.map { String(path[path.index(after: $0)...]) } ?? path
            children[parent, default: []].append(name)
        }
        return children
    }()

    /// The kind of `path`, or nil for a key the schema does not know.
    static func kind(of path: String) -> Kind? {
        entries.first { $0.path == path }?.kind
    }

    /// The direct child key names of the object at `path` ("" = top level), in schema order.
    static func keys(under path: String) -> [String] {
        childKeys[path] ?? []
    }

    /// `LIFELINE_` + the path upper-cased with `.` → `_`.
    static func environmentName(for path: String) -> String {
        "LIFELINE_" + path.uppercased().split(separator: ".", omittingEmptySubsequences: false).joined(separator: "_")
    }
}
