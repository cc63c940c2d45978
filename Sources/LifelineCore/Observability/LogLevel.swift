/// Severity of a log event; events below the configured level are dropped
/// before anything is formatted. Names are the `log.level` values.
public enum LogLevel: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    case debug, info, warn, error

    /// The configuration / JSON name: "debug", "info", "warn", "error".
    public var name: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .warn: return "warn"
        case .error: return "error"
        }
    }

    /// The level named `name` (exact, lower case), or nil.
    public init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { $0.name == name }) else { return nil }
        self = level
    }

    public var description: String { name }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How each log event is written: one JSON object per line, or readable text.
public enum LogFormat: String, CaseIterable, Sendable {
    case json, text
}
