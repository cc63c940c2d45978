#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Configuration {
    static let workersRange = NumberRange(1, 256)
    static let shutdownGraceRange = NumberRange(0, 3600)
    static let workersRule = "must be an integer between 1 and 256 or \"auto\""

    /// Decodes and validates the top-level object (after environment overrides).
    init(from root: JSONValue) throws {
        let object = try ConfigObject(root, path: "")
        // upstream first: it holds the one required key, the most likely first mistake.
        let upstream = try UpstreamSettings(from: object.object("upstream"))
        self.init(upstream: upstream)
        listen = try Self.address(object, "listen") ?? listen
        if let json = object.raw("admin_listen") {
            adminListen = json == .null ? nil : try Self.address(object, "admin_listen")
        }
        if let admin = adminListen, admin == listen, admin.port != 0 {
            throw ConfigError.invalid("admin_listen", .string(admin.description), "must differ from listen")
        }
        try decodeWorkers(object.raw("workers"))
        shutdownGraceSeconds = try object.double("shutdown_grace_seconds", Self.shutdownGraceRange, default: shutdownGraceSeconds)
        log = try LogSettings(from: object.object("log"))
        downstream = try DownstreamSettings(from: object.object("downstream"))
        limits = try LimitsSettings(from: object.object("limits"))
    }

    private static func address(_ object: ConfigObject, _ key: String) throws -> HostPort? {
        let expected = key == "admin_listen" ? "a host:port string or null" : "a host:port string"
        guard let text = try object.string(key, expected: expected) else { return nil }
        return try HostPort(parsing: text, path: key)
    }

    private mutating func decodeWorkers(_ json: JSONValue?) throws {
        guard let json else { return }
        if json == .string("auto") {
            workers = Self.onlineCores()
            workersIsAuto = true
            return
        }
        guard let count = ConfigObject.integer(json), Self.workersRange.contains(Double(count)) else {
            throw ConfigError.invalid("workers", json, Self.workersRule)
        }
        workers = count
    }

    /// Online CPU cores, clamped to the `workers` range.
    static func onlineCores() -> Int {
        min(max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1), 256)
    }
}
