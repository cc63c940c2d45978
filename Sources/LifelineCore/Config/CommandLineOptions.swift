/// What the command line asks for (spec §1).
public enum CommandLineAction: Equatable, Sendable {
    /// Run the proxy with this configuration file.
    case run(configPath: String)
    /// Validate the file, print the effective configuration as JSON, exit.
    case checkConfig(configPath: String)
    /// The self-contained demonstration; nil = its default length.
    case demo(durationSeconds: Double?)
    case version
    case help
}

/// A command line that makes no sense; `main` prints `message` and
/// `CommandLineOptions.usageHint` to stderr and exits 2.
public struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// One line, e.g. `unknown option '--conf'`.
    public var message: String

    public init(message: String) { self.message = message }

    public var description: String { message }
}

/// Parses `lifeline [--config FILE]`, `lifeline --check-config [--config FILE]`,
/// `lifeline demo [--duration SECONDS]`, `lifeline --version`, `lifeline --help`.
/// Options take `--name VALUE` or `--name=VALUE`; `--help`/`-h` and then
/// `--version` win wherever they appear. FILE defaults to $LIFELINE_CONFIG, then ./config.json.
public enum CommandLineOptions {
    /// Configuration path when neither `--config` nor `$LIFELINE_CONFIG` gives one.
    public static let defaultConfigPath = "./config.json"

    /// The line printed after a usage error.
    public static let usageHint = "Try 'lifeline --help' for usage."

    /// `arguments` excludes argv[0].
    public static func parse(_ arguments: [String], environment: [String: String]) -> Result<CommandLineAction, UsageError> {
        if arguments.contains("--help") || arguments.contains("-h") { return .success(.help) }
        if arguments.contains("--version") { return .success(.version) }
        do {
            return .success(try parseCommand(arguments[...], environment: environment))
        } catch let error as UsageError {
            return .failure(error)
        } catch {
            return .failure(UsageError(message: "\(error)"))
        }
    }

    private static func parseCommand(_ arguments: ArraySlice<String>, environment: [String: String]) throws -> CommandLineAction {
        var rest = arguments
        let isDemo = rest.first == "demo"
        if isDemo { rest.removeFirst() }
        var configPath: String?
        var check = false
        var duration: Double?
        while let argument = rest.popFirst() {
            let (name, inline) = split(argument)
            func value() throws -> String {
                if let inline { return inline }
                guard let next = rest.first, !next.hasPrefix("--") else {
                    throw UsageError(message: "\(name) needs a value")
                }
                return rest.removeFirst()
            }
            switch name {
            case "--config" where !isDemo:
                guard configPath == nil else { throw UsageError(message: "--config given more than once") }
                let path = try value()
                guard !path.isEmpty else { throw UsageError(message: "--config needs a file path") }
                configPath = path
            case "--check-config" where !isDemo:
                guard inline == nil else { throw UsageError(message: "--check-config takes no value") }
                guard !check else { throw UsageError(message: "--check-config given more than once") }
                check = true
            case "--duration" where isDemo:
                guard duration == nil else { throw UsageError(message: "--duration given more than once") }
                let text = try value()
                guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
                    throw UsageError(message: "--duration = '\(text)' (must be a number of seconds greater than 0)")
                }
                duration = seconds
            case "--config", "--check-config":
                throw UsageError(message: "\(name) does not apply to demo")
            case "--duration":
                throw UsageError(message: "--duration only applies to demo (lifeline demo --duration SECONDS)")
            case "demo":
                throw UsageError(message: "demo must be the first argument (lifeline demo [--duration SECONDS])")
            default:
                throw UsageError(message: name.hasPrefix("-") ? "unknown option '\(name)'" : "unexpected argument '\(argument)'")
            }
        }
        if isDemo { return .demo(durationSeconds: duration) }
        let path = configPath ?? environment["LIFELINE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultConfigPath
        return check ? .checkConfig(configPath: path) : .run(configPath: path)
    }

    /// `--name=value` → ("--name", "value"); anything else → (argument, nil).
    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }
}
