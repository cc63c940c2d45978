#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Configuration {
    /// Reads the file, applies the environment, validates. Unreadable file /
    /// invalid JSON are ConfigErrors too (message names the file).
    public static func load(path: String, environment: [String: String]) throws -> Configuration {
        let (bytes, failure) = readFile(path)
        if failure != 0 {
            throw ConfigError.file(path, "cannot read: \(String(cString: strerror(failure)))")
        }
        return try parse(json: bytes, environment: environment, source: path)
    }

    /// Parses configuration JSON, applies the environment, validates.
    public static func parse(json: [UInt8], environment: [String: String]) throws -> Configuration {
        try parse(json: json, environment: environment, source: "configuration")
    }

    /// `LIFELINE_*` variables in `environment` that are neither a key nor
    /// `LIFELINE_CONFIG`; they are ignored, `main` may warn about them.
    public static func ignoredEnvironmentVariables(in environment: [String: String]) -> [String] {
        ConfigEnvironment.ignoredVariables(in: environment)
    }

    /// The environment variable that overrides a key path, e.g.
    /// `upstream.reconnect.max_attempts` → `LIFELINE_UPSTREAM_RECONNECT_MAX_ATTEMPTS`.
    public static func environmentVariable(for keyPath: String) -> String {
        ConfigSchema.environmentName(for: keyPath)
    }

    private static func parse(json: [UInt8], environment: [String: String], source: String) throws -> Configuration {
        let root: JSONValue
        do {
            root = try JSONParser.parse(json)
        } catch let error as JSONParser.SyntaxError {
            throw ConfigError.file(source, error.description)
        }
        guard case .object = root else {
            throw ConfigError.file(source, "the top level must be a JSON object, not \(root.typeName)")
        }
        let (merged, origins) = ConfigEnvironment.apply(environment, to: root)
        do {
            return try Configuration(from: merged)
        } catch let error as ConfigError {
            throw ConfigEnvironment.attribute(error, origins: origins)
        }
    }

    /// The whole file, or the errno that stopped it (0 = success).
    private static func readFile(_ path: String) -> (bytes: [UInt8], errno: Int32) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return ([], errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return (bytes, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                return ([], errno)
            }
            bytes += chunk[..<count]
        }
    }
}
