import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes log events (spec §7), one line each, to a sink (stderr by default).
/// Owns the current level and format, both changeable at run time (SIGHUP
/// reload) from any thread; events below the level cost one atomic load.
public final class Logger: @unchecked Sendable {
    /// The process-wide logger: info, json, stderr until `main` applies the configuration.
    public static let shared = Logger(level: .info, format: .json)

    private let levelValue: Atomic<Int>
    private let formatIsText: Atomic<Bool>
    private let sink: (String) -> Void
    private let clock: () -> (seconds: Int, nanoseconds: Int)

    /// `sink` gets one complete line including "\n".
    public convenience init(level: LogLevel, format: LogFormat, sink: @escaping (String) -> Void = Logger.standardError) {
        self.init(level: level, format: format, clock: LogTimestamp.now, sink: sink)
    }

    /// With an injectable clock, for tests.
    init(level: LogLevel, format: LogFormat, clock: @escaping () -> (seconds: Int, nanoseconds: Int),
         sink: @escaping (String) -> Void) {
        levelValue = Atomic(level.rawValue)
        formatIsText = Atomic(format == .text)
        self.clock = clock
        self.sink = sink
    }

    /// Lowest level written.
    public var level: LogLevel {
        get { LogLevel(rawValue: levelValue.load(ordering: .relaxed)) ?? .info }
        set { levelValue.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// Line format.
    public var format: LogFormat {
        get { formatIsText.load(ordering: .relaxed) ? .text : .json }
        set { formatIsText.store(newValue == .text, ordering: .relaxed) }
    }

    /// Applies the `log` section (at start-up and on reload).
    public func apply(_ settings: LogSettings) {
        level = settings.level
        format = settings.format
    }

    public func isEnabled(_ level: LogLevel) -> Bool {
        level.rawValue >= levelValue.load(ordering: .relaxed)
    }

    /// Writes one event if `level` is enabled; nothing is formatted otherwise.
    public func log(_ level: LogLevel, _ event: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        guard isEnabled(level) else { return }
        let now = clock()
        let timestamp = LogTimestamp.format(seconds: now.seconds, nanoseconds: now.nanoseconds)
        sink(LogLineFormatter.line(format: format, timestamp: timestamp, level: level, event: event, fields: fields))
    }

    public func debug(_ event: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.debug, event, fields) }
    public func info(_ event: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.info, event, fields) }
    public func warn(_ event: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.warn, event, fields) }
    public func error(_ event: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.error, event, fields) }

    private static let standardErrorLock = Mutex(())

    /// One write(2) per line to fd 2 (retried only for a partial write or
    /// EINTR), under a lock so lines from several loop threads never interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        var line = line
        line.withUTF8 { buffer in
            standardErrorLock.withLock { _ in
                var offset = 0
                while offset < buffer.count {
                    let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { return }
                }
            }
        }
    }
}
