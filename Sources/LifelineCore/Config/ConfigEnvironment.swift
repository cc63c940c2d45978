/// The `LIFELINE_*` environment layer (spec §2). For every key path of
/// `ConfigSchema` — leaves and whole objects like `upstream.headers`,
/// `downstream.tls` — `LIFELINE_` + PATH upper-cased with `.` → `_` replaces
/// the file's value. Parents are applied before children, so
/// `LIFELINE_UPSTREAM_TLS='{"verify":false}'` and `LIFELINE_UPSTREAM_TLS_CA_FILE=...`
/// combine; an object value replaces the file's object wholesale. Other
/// `LIFELINE_*` variables (e.g. `LIFELINE_CONFIG`, the file path) are ignored.
enum ConfigEnvironment {
    /// Variables that are not configuration keys but are read elsewhere.
    static let nonKeyVariables: Set<String> = ["LIFELINE_CONFIG"]

    /// `root` with the overrides applied, and for each overridden path the variable that set it.
    static func apply(_ environment: [String: String], to root: JSONValue) -> (JSONValue, origins: [String: String]) {
        var root = root
        var origins: [String: String] = [:]
        for ((path, kind), name) in zip(ConfigSchema.entries, ConfigSchema.environmentNames) {
            guard let text = environment[name] else { continue }
            if root.set(value(text, kind: kind), at: path.split(separator: ".").map(String.init)[...]) {
                origins[path] = name
            }
        }
        return (root, origins)
    }

    /// JSON when the text parses as JSON, else the text as a string. String
    /// keys keep numbers and booleans as their text (a regex `123`, a host `true`).
    static func value(_ text: String, kind: ConfigSchema.Kind) -> JSONValue {
        guard let parsed = try? JSONParser.parse(Array(text.utf8)) else { return .string(text) }
        switch parsed {
        case .number, .bool: return kind.prefersRawText ? .string(text) : parsed
        default: return parsed
        }
    }

    /// `LIFELINE_*` variables that set no configuration key (for a start-up warning).
    static func ignoredVariables(in environment: [String: String]) -> [String] {
        environment.keys.filter { $0.hasPrefix("LIFELINE_") && !knownVariables.contains($0) }.sorted()
    }

    /// Every variable that sets a key, plus `nonKeyVariables`.
    private static let knownVariables = Set(ConfigSchema.environmentNames).union(nonKeyVariables)

    /// The error with a note naming the variable, when the offending path (or
    /// an object containing it) came from the environment.
    static func attribute(_ error: ConfigError, origins: [String: String]) -> ConfigError {
        var path = error.path
        while !path.isEmpty {
            if let variable = origins[path] { return error.fromEnvironment(variable) }
            path = path.lastIndex(of: ".").map { String(path[..<$0]) } ?? ""
        }
        return error
    }
}

extension JSONValue {
    /// Sets the member at `path`, creating missing or null intermediate
    /// objects; false (nothing set) when an intermediate is some other type,
    /// which the decoder then reports as the file's error.
    mutating func set(_ value: JSONValue, at path: ArraySlice<String>) -> Bool {
        guard let key = path.first else { self = value; return true }
        if self == .null { self = .object([]) }
        guard case .object(var members) = self else { return false }
        let index = members.firstIndex { $0.key == key }
        var child = index.map { members[$0].value } ?? .null
        guard child.set(value, at: path.dropFirst()) else { return false }
        if let index { members[index].value = child } else { members.append((key, child)) }
        self = .object(members)
        return true
    }
}
