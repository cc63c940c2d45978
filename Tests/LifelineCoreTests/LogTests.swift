import Foundation
import XCTest
@testable import LifelineCore

/// Collects lines a Logger writes.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return stored }
    func append(_ line: String) { lock.lock(); stored.append(line); lock.unlock() }
}

final class LogTests: XCTestCase {
    /// 2026-11-22T21:04:05.123Z
    private let fixedClock = { (seconds: 1_795_381_445, nanoseconds: 123_999_999) }

    private func logger(_ level: LogLevel = .debug, _ format: LogFormat = .json) -> (Logger, LineCollector) {
        let collector = LineCollector()
        return (Logger(level: level, format: format, clock: fixedClock, sink: collector.append), collector)
    }

    func testTimestampFormat() {
        XCTAssertEqual(LogTimestamp.format(seconds: 1_795_381_445, nanoseconds: 123_999_999), "2026-11-22T21:04:05.123Z")
        XCTAssertEqual(LogTimestamp.format(seconds: 951_782_400, nanoseconds: 7_000_000), "2000-02-29T00:00:00.007Z")
        XCTAssertEqual(LogTimestamp.format(seconds: 0, nanoseconds: 0), "1970-01-01T00:00:00.000Z")
        let now = LogTimestamp.now()
        let text = LogTimestamp.format(seconds: now.seconds, nanoseconds: now.nanoseconds)
        XCTAssertNotNil(text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression), text)
    }

    func testJSONLineExactAndOrdered() throws {
        let (log, out) = logger()
        log.info("listening", ["address": "127.0.0.1:8080", "workers": 2, "rtt": 0.25, "tls": false, "peer": nil])
        XCTAssertEqual(out.lines, [#"{"ts":"2026-11-22T21:04:05.123Z","level":"info","event":"listening","address":"127.0.0.1:8080","workers":2,"rtt":0.25,"tls":false,"peer":null}"# + "\n"])
        let object = try JSONSerialization.jsonObject(with: Data(out.lines[0].utf8)) as? [String: Any]
        XCTAssertEqual(object?["event"] as? String, "listening")
        XCTAssertEqual(object?["workers"] as? Int, 2)
    }

    func testJSONEscaping() throws {
        let (log, out) = logger()
        let nasty = "a\"b\\c\nd\re\tf\u{01}g\u{1F}h/é😀"
        log.warn("odd \"event\"", ["reason": .string(nasty), "nan": .double(.nan)])
        let line = out.lines[0]
        XCTAssertTrue(line.hasSuffix("}\n"))
        XCTAssertEqual(line.filter { $0 == "\n" }.count, 1)
        XCTAssertTrue(line.contains(#""reason":"a\"b\\c\nd\re\tf\u0001g\u001fh/é😀""#), line)
        XCTAssertTrue(line.contains(#""nan":null"#), line)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        XCTAssertEqual(object?["reason"] as? String, nasty)
        XCTAssertEqual(object?["event"] as? String, "odd \"event\"")
        XCTAssertEqual(object?["level"] as? String, "warn")
    }

    func testTextFormat() {
        let (log, out) = logger(.debug, .text)
        let port = 8080
        log.info("listening", ["address": "127.0.0.1:\(port)"])
        log.error("session.close", ["reason": "going away", "code": 1001, "empty": ""])
        log.debug("x")
        log.warn("y", ["ok": true, "rtt": 1.5])
        XCTAssertEqual(out.lines, [
            "2026-11-22T21:04:05.123Z INFO  listening address=127.0.0.1:8080\n",
            "2026-11-22T21:04:05.123Z ERROR session.close reason=\"going away\" code=1001 empty=\"\"\n",
            "2026-11-22T21:04:05.123Z DEBUG x\n",
            "2026-11-22T21:04:05.123Z WARN  y ok=true rtt=1.5\n",
        ])
    }

    func testLevelFiltering() {
        let (log, out) = logger(.warn)
        XCTAssertFalse(log.isEnabled(.info))
        XCTAssertTrue(log.isEnabled(.warn))
        XCTAssertTrue(log.isEnabled(.error))
        log.debug("a"); log.info("b"); log.warn("c"); log.error("d")
        XCTAssertEqual(out.lines.map { $0.contains("\"event\":\"c\"") || $0.contains("\"event\":\"d\"") }, [true, true])
    }

    func testLevelAndFormatChangeAtRunTime() {
        let (log, out) = logger(.error, .json)
        log.info("hidden")
        log.apply(LogSettings(level: .info, format: .text))
        XCTAssertEqual(log.level, .info)
        XCTAssertEqual(log.format, .text)
        log.info("shown")
        XCTAssertEqual(out.lines, ["2026-11-22T21:04:05.123Z INFO  shown\n"])
    }

    func testLevelNamesAndOrder() {
        XCTAssertEqual(LogLevel.allCases.map(\.name), ["debug", "info", "warn", "error"])
        XCTAssertEqual(LogLevel(name: "warn"), .warn)
        XCTAssertNil(LogLevel(name: "WARN"))
        XCTAssertTrue(LogLevel.debug < .info && LogLevel.info < .warn && LogLevel.warn < .error)
    }

    func testConcurrentLoggingKeepsLinesWhole() {
        let (log, out) = logger()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<200 { log.info("tick", ["thread": .int(thread), "i": .int(i)]) }
            if thread == 0 { log.level = .debug }
        }
        XCTAssertEqual(out.lines.count, 1600)
        XCTAssertTrue(out.lines.allSatisfy { $0.hasPrefix("{\"ts\":") && $0.hasSuffix("}\n") })
    }

    func testStandardErrorSinkWritesWholeLines() throws {
        // Redirect fd 2 to a pipe for the duration of the write.
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let saved = dup(2)
        dup2(fds[1], 2)
        Logger.standardError("{\"event\":\"probe\"}\n")
        dup2(saved, 2)
        close(saved)
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fds[0], &buffer, buffer.count)
        close(fds[0])
        XCTAssertEqual(String(decoding: buffer[..<max(count, 0)], as: UTF8.self), "{\"event\":\"probe\"}\n")
    }
}
