/// The `log` section: what is logged and how (spec §7). Both apply on reload.
public struct LogSettings: Equatable, Sendable {
    /// Lowest level written (`log.level`, default info).
    public var level: LogLevel
    /// Line format (`log.format`, default json).
    public var format: LogFormat

    public init(level: LogLevel = .info, format: LogFormat = .json) {
        self.level = level
        self.format = format
    }
}

extension LogSettings {
    init(from object: ConfigObject?) throws {
        self.init()
        guard let object else { return }
        if let json = object.raw("level") {
            guard case .string(let name) = json, let level = LogLevel(name: name) else {
                throw ConfigError.invalid(object.path("level"), json, "must be one of \"debug\", \"info\", \"warn\", \"error\"")
            }
            self.level = level
        }
        format = try object.choice("format", default: format)
    }

    var json: JSONValue {
        .object([("level", .string(level.name)), ("format", .string(format.rawValue))])
    }
}
