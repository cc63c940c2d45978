/// One JSON object of the configuration being decoded, at a known path.
/// Owns the generic checks: it is an object, has no duplicate or unknown keys
/// (against `ConfigSchema`), and each member has the right type and range.
struct ConfigObject {
    /// Where this object is ("" for the top level).
    let path: String
    private let members: [String: JSONValue]

    /// Checks `value` is an object with only the schema's keys for `path`.
    init(_ value: JSONValue, path: String) throws {
        guard case .object(let list) = value else {
            throw ConfigError.invalid(path.isEmpty ? "(top level)" : path, value, "must be an object")
        }
        self.path = path
        let known = Set(ConfigSchema.keys(under: path))
        var members: [String: JSONValue] = [:]
        for (key, member) in list {
            let memberPath = Self.join(path, key)
            guard known.contains(key) else { throw ConfigError.invalid(memberPath, member, "unknown key") }
            guard members[key] == nil else { throw ConfigError.invalid(memberPath, member, "duplicate key") }
            members[key] = member
        }
        self.members = members
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func path(_ key: String) -> String { Self.join(path, key) }

    /// The member, or nil when absent.
    func raw(_ key: String) -> JSONValue? { members[key] }

    /// A nested object, or nil when absent (or null, when `nullable`).
    func object(_ key: String, nullable: Bool = false) throws -> ConfigObject? {
        guard let value = members[key] else { return nil }
        if nullable, value == .null { return nil }
        guard case .object = value else {
            throw ConfigError.invalid(path(key), value, nullable ? "must be an object or null" : "must be an object")
        }
        return try ConfigObject(value, path: path(key))
    }

    /// A number (any JSON number) within `range`.
    func double(_ key: String, _ range: NumberRange, default value: Double) throws -> Double {
        guard let json = members[key] else { return value }
        guard case .number(let number, _) = json else {
            throw ConfigError.invalid(path(key), json, "must be a number \(range.text)")
        }
        guard range.contains(number) else { throw ConfigError.invalid(path(key), json, "must be \(range.text)") }
        return number
    }

    /// An integral JSON number (`3`, `3.0`, `3e0`) within `range`.
    func int(_ key: String, _ range: NumberRange, default value: Int) throws -> Int {
        guard let json = members[key] else { return value }
        guard let number = Self.integer(json) else {
            throw ConfigError.invalid(path(key), json, "must be an integer \(range.text)")
        }
        guard range.contains(Double(number)) else { throw ConfigError.invalid(path(key), json, "must be \(range.text)") }
        return number
    }

    /// The integer value of a JSON number with no fractional part, else nil.
    static func integer(_ json: JSONValue) -> Int? {
        guard case .number(let number, let text) = json else { return nil }
        if let exact = Int(text) { return exact }
        guard number == number.rounded(), abs(number) < 9.0e18 else { return nil }
        return Int(number)
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let json = members[key] else { return value }
        guard case .bool(let flag) = json else { throw ConfigError.invalid(path(key), json, "must be true or false") }
        return flag
    }

    /// A string; `expected` describes it in the type error ("a ws:// or wss:// URL").
    func string(_ key: String, expected: String) throws -> String? {
        guard let json = members[key] else { return nil }
        guard case .string(let text) = json else { throw ConfigError.invalid(path(key), json, "must be \(expected)") }
        return text
    }

    /// A string or null; absent gives `default`.
    func optionalString(_ key: String, expected: String, default value: String? = nil) throws -> String? {
        guard let json = members[key] else { return value }
        switch json {
        case .null: return nil
        case .string(let text): return text
        default: throw ConfigError.invalid(path(key), json, "must be \(expected) or null")
        }
    }

    /// One of an enum's raw string values.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, default value: E) throws -> E where E.RawValue == String {
        guard let json = members[key] else { return value }
        if case .string(let text) = json, let choice = E(rawValue: text) { return choice }
        let names = E.allCases.map { JSONWriter.quoted($0.rawValue) }.joined(separator: ", ")
        throw ConfigError.invalid(path(key), json, "must be one of \(names)")
    }
}
