import XCTest
@testable import LifelineCore

/// Every numeric key of spec §2 at its bounds: just inside is accepted, just
/// outside is rejected with an error naming the path.
final class ConfigRangeTests: XCTestCase {
    struct Row {
        var path: String
        var inside: [String]
        var outside: [String]
        /// Other keys set so cross-field rules do not interfere at the bounds.
        var context: KeyValuePairs<String, String> = [:]
    }

    static let rows: [Row] = [
        Row(path: "workers", inside: ["1", "256"], outside: ["0", "257"]),
        Row(path: "shutdown_grace_seconds", inside: ["0", "3600"], outside: ["-0.001", "3600.001"]),
        Row(path: "downstream.ping_interval_seconds", inside: ["0", "0.1", "86400"], outside: ["0.099", "86400.5", "-1"],
            context: ["downstream.pong_timeout_seconds": "0.05"]),
        Row(path: "downstream.pong_timeout_seconds", inside: ["0.05", "3600"], outside: ["0.049", "3600.01"],
            context: ["downstream.ping_interval_seconds": "86400"]),
        Row(path: "downstream.slow_after_missed_pongs", inside: ["1", "1000"], outside: ["0", "1001"],
            context: ["downstream.max_missed_pongs": "1000"]),
        Row(path: "downstream.max_missed_pongs", inside: ["1", "1000"], outside: ["0", "1001"],
            context: ["downstream.slow_after_missed_pongs": "1"]),
        Row(path: "downstream.handshake_timeout_seconds", inside: ["0.1", "3600"], outside: ["0.09", "3600.1"]),
        Row(path: "downstream.max_connections", inside: ["1", "10000000"], outside: ["0", "10000001"]),
        Row(path: "upstream.connect_timeout_seconds", inside: ["0.1", "3600"], outside: ["0.09", "3601"]),
        Row(path: "upstream.ping_interval_seconds", inside: ["0", "0.1", "86400"], outside: ["0.01", "86401"],
            context: ["upstream.pong_timeout_seconds": "0.05"]),
        Row(path: "upstream.pong_timeout_seconds", inside: ["0.05", "3600"], outside: ["0.04", "3601"],
            context: ["upstream.ping_interval_seconds": "86400"]),
        Row(path: "upstream.slow_after_missed_pongs", inside: ["1", "1000"], outside: ["0", "1001"],
            context: ["upstream.max_missed_pongs": "1000"]),
        Row(path: "upstream.max_missed_pongs", inside: ["1", "1000"], outside: ["0", "1001"]),
        Row(path: "upstream.max_lifetime_seconds", inside: ["0", "1", "2592000"], outside: ["0.5", "2592001"],
            context: ["upstream.rotation_jitter_seconds": "0"]),
        Row(path: "upstream.rotation_jitter_seconds", inside: ["0", "2592000"], outside: ["-0.1", "2592000.1"],
            context: ["upstream.max_lifetime_seconds": "2592000"]),
        Row(path: "upstream.reconnect.initial_delay_seconds", inside: ["0.001", "3600"], outside: ["0.0009", "3600.1"]),
        Row(path: "upstream.reconnect.max_delay_seconds", inside: ["0.001", "3600"], outside: ["0", "3601"]),
        Row(path: "upstream.reconnect.multiplier", inside: ["1", "10"], outside: ["0.99", "10.01"]),
        Row(path: "upstream.reconnect.jitter", inside: ["0", "1"], outside: ["-0.01", "1.01"]),
        Row(path: "upstream.reconnect.max_attempts", inside: ["0", "1000000"], outside: ["-1", "1000001"]),
        Row(path: "upstream.replay.max_messages", inside: ["0", "1000000"], outside: ["-1", "1000001"]),
        Row(path: "upstream.replay.max_bytes", inside: ["0", "1000000"], outside: ["-1", "1000001"]),
        Row(path: "upstream.dedupe_window", inside: ["0", "1", "1000000"], outside: ["-1", "1000001"]),
        Row(path: "limits.max_message_bytes", inside: ["125", "2147483648"], outside: ["124", "2147483649"]),
        Row(path: "limits.max_buffered_bytes", inside: ["65536", "1073741824"], outside: ["65535", "1073741825"]),
    ]

    func testEveryNumericKeyIsInTheTable() {
        let numeric = ConfigSchema.entries.filter { [.number, .integer, .integerOrAuto].contains($0.kind) }.map(\.path)
        XCTAssertEqual(Set(numeric), Set(Self.rows.map(\.path)))
    }

    func testBoundsJustInsideAreAccepted() {
        for row in Self.rows {
            for value in row.inside {
                let settings = row.context.map { ($0.key, $0.value) } + [(row.path, value)]
                XCTAssertNil(ConfigFixture.error(settings), "\(row.path) = \(value)")
            }
        }
    }

    func testBoundsJustOutsideAreRejectedNamingThePath() {
        for row in Self.rows {
            for value in row.outside {
                let settings = row.context.map { ($0.key, $0.value) } + [(row.path, value)]
                let message = ConfigFixture.error(settings) ?? "accepted"
                XCTAssertTrue(message.hasPrefix("config error: \(row.path) = \(value) (must be "), message)
            }
        }
    }

    func testIntegerKeysRejectFractions() {
        XCTAssertEqual(ConfigFixture.error(["downstream.max_connections": "2.5"]),
                       "config error: downstream.max_connections = 2.5 (must be an integer between 1 and 10000000)")
        XCTAssertNil(ConfigFixture.error(["downstream.max_connections": "3.0"]))
        XCTAssertEqual(try ConfigFixture.parse(["upstream.dedupe_window": "1e3"]).upstream.dedupeWindow, 1000)
    }

    func testExactRangeMessages() {
        XCTAssertEqual(ConfigFixture.error(["upstream.ping_interval_seconds": "0.05"]),
                       "config error: upstream.ping_interval_seconds = 0.05 (must be between 0.1 and 86400, or 0 (off))")
        XCTAssertEqual(ConfigFixture.error(["downstream.pong_timeout_seconds": "0.01"]),
                       "config error: downstream.pong_timeout_seconds = 0.01 (must be between 0.05 and 3600)")
        XCTAssertEqual(ConfigFixture.error(["workers": "0"]),
                       "config error: workers = 0 (must be an integer between 1 and 256 or \"auto\")")
        XCTAssertEqual(ConfigFixture.error(["upstream.reconnect.jitter": "2"]),
                       "config error: upstream.reconnect.jitter = 2 (must be between 0 and 1)")
        XCTAssertEqual(ConfigFixture.error(["upstream.max_lifetime_seconds": "0.5"]),
                       "config error: upstream.max_lifetime_seconds = 0.5 (must be between 1 and 2592000, or 0 (never))")
        XCTAssertEqual(ConfigFixture.error(["limits.max_buffered_bytes": "1024"]),
                       "config error: limits.max_buffered_bytes = 1024 (must be between 65536 and 1073741824)")
    }
}
