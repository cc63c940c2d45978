/// An invalid configuration: which JSON path is wrong and the complete
/// one-line message for the operator, e.g.
/// `config error: upstream.ping_interval_seconds = 0.01 (must be between 0.1 and 86400, or 0 (off))`.
/// `main` prints `description` and exits 2 (spec §1); a SIGHUP reload logs it.
public struct ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The JSON path of the offending key (`upstream.reconnect.jitter`); "" for
    /// problems with the file as a whole (unreadable, not JSON).
    public var path: String
    /// The full `config error: ...` line.
    public var description: String

    public init(path: String, description: String) {
        self.path = path
        self.description = description
    }

    /// `config error: PATH = VALUE (RULE)`.
    static func invalid(_ path: String, _ value: JSONValue, _ rule: String) -> ConfigError {
        ConfigError(path: path, description: "config error: \(printable(path)) = \(render(value)) (\(rule))")
    }

    /// A path for the message: keys may hold any character (`"a\nb"` in the
    /// file), so control characters are escaped as in JSON to keep it one line,
    /// and so are combining marks that start a key (U+0301 right after the
    /// `: ` or a `.` would merge with it on screen, and "config error: " would
    /// no longer be a prefix of the line for a reader comparing characters).
    static func printable(_ path: String) -> String {
        var escapes: [Bool] = []
        var keyStart = true
        for scalar in path.unicodeScalars {
            let escape = keyStart && joinsPrevious(scalar) || scalar.value < 0x20 || scalar.value == 0x7F
            escapes.append(escape)
            keyStart = scalar == "." || escape   // a mark after an escape would join its last hex digit
        }
        guard escapes.contains(true) else { return path }
        var out = ""
        for (scalar, escape) in zip(path.unicodeScalars, escapes) {
            if escape {
                JSONWriter.appendUnicodeEscape(scalar, to: &out)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Would `scalar` join the character before it into one (a combining mark, ZWJ)?
    private static func joinsPrevious(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return scalar.properties.isGraphemeExtend || scalar == "\u{200D}"
        }
    }

    /// `config error: PATH is required` (optionally with the condition that requires it).
    static func missing(_ path: String, when condition: String? = nil) -> ConfigError {
        let suffix = condition.map { " when \($0)" } ?? ""
        return ConfigError(path: path, description: "config error: \(path) is required\(suffix)")
    }

    /// `config error: FILE: REASON`, for the file as a whole.
    static func file(_ file: String, _ reason: String) -> ConfigError {
        ConfigError(path: "", description: "config error: \(file): \(reason)")
    }

    /// The same error with a note saying which environment variable supplied the value.
    func fromEnvironment(_ variable: String) -> ConfigError {
        ConfigError(path: path, description: description + " [from environment variable \(variable)]")
    }

    /// Bad values are echoed as compact JSON, cut short when long.
    static func render(_ value: JSONValue) -> String {
        let text = JSONWriter.compact(value)
        return text.count > 100 ? String(text.prefix(97)) + "..." : text
    }
}
