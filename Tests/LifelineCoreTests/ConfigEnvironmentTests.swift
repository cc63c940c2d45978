import XCTest
@testable import LifelineCore

/// `LIFELINE_*` overrides (spec §2): JSON when it parses, else a string; the environment wins.
final class ConfigEnvironmentTests: XCTestCase {
    func testURLFromEnvironmentAlone() throws {
        let config = try ConfigFixture.parse(withURL: false, environment: ["LIFELINE_UPSTREAM_URL": "wss://env.example/feed"])
        XCTAssertEqual(config.upstream.url.host, "env.example")
        XCTAssertEqual(config.upstream.url.path, "/feed")
    }

    func testNumberBoolAndNestedKeys() throws {
        let config = try ConfigFixture.parse(environment: [
            "LIFELINE_DOWNSTREAM_PING_INTERVAL_SECONDS": "12.5",
            "LIFELINE_UPSTREAM_RECONNECT_MAX_ATTEMPTS": "7",
            "LIFELINE_UPSTREAM_TLS_VERIFY": "false",
            "LIFELINE_WORKERS": "auto",
            "LIFELINE_LOG_LEVEL": "debug",
            "LIFELINE_LISTEN": "0.0.0.0:0",
        ])
        XCTAssertEqual(config.downstream.heartbeat.pingIntervalSeconds, 12.5)
        XCTAssertEqual(config.upstream.reconnect.maxAttempts, 7)
        XCTAssertFalse(config.upstream.tls.verify)
        XCTAssertTrue(config.workersIsAuto)
        XCTAssertEqual(config.log.level, .debug)
        XCTAssertEqual(config.listen, HostPort(host: "0.0.0.0", port: 0))
    }

    func testEnvironmentWinsOverFile() throws {
        let config = try ConfigFixture.parse(["upstream.max_missed_pongs": "5", "log.format": #""json""#],
                                             environment: ["LIFELINE_UPSTREAM_MAX_MISSED_PONGS": "9", "LIFELINE_LOG_FORMAT": "text",
                                                           "LIFELINE_UPSTREAM_URL": "ws://other:1"])
        XCTAssertEqual(config.upstream.heartbeat.maxMissedPongs, 9)
        XCTAssertEqual(config.log.format, .text)
        XCTAssertEqual(config.upstream.url.original, "ws://other:1")
    }

    func testNullAndObjectValues() throws {
        let file: KeyValuePairs<String, String> = ["downstream.tls": #"{"cert_file":"c","key_file":"k"}"#,
                                                   "upstream.headers": #"{"X-File":"1"}"#]
        XCTAssertNotNil(try ConfigFixture.parse(file).downstream.tls)
        let config = try ConfigFixture.parse(file, environment: [
            "LIFELINE_DOWNSTREAM_TLS": "null",
            "LIFELINE_UPSTREAM_HEADERS": #"{"X-A":"b"}"#,
            "LIFELINE_ADMIN_LISTEN": "null",
            "LIFELINE_UPSTREAM_ROTATE_ON_MATCH": "null",
        ])
        XCTAssertNil(config.downstream.tls)
        XCTAssertNil(config.adminListen)
        XCTAssertEqual(config.upstream.headers, [HeaderField(name: "X-A", value: "b")], "an object replaces the file's object")
    }

    func testLeavesCreateTheirObjectAndCombineWithParent() throws {
        let config = try ConfigFixture.parse(environment: [
            "LIFELINE_DOWNSTREAM_TLS_CERT_FILE": "/c.pem", "LIFELINE_DOWNSTREAM_TLS_KEY_FILE": "/k.pem",
            "LIFELINE_UPSTREAM_TLS": #"{"verify":false}"#, "LIFELINE_UPSTREAM_TLS_CA_FILE": "/ca.pem",
        ])
        XCTAssertEqual(config.downstream.tls, DownstreamTLSSettings(certFile: "/c.pem", keyFile: "/k.pem"))
        XCTAssertEqual(config.upstream.tls, UpstreamTLSSettings(verify: false, caFile: "/ca.pem", serverName: nil))
    }

    func testStringKeysKeepNumberLikeText() throws {
        let config = try ConfigFixture.parse(environment: ["LIFELINE_UPSTREAM_ROTATE_ON_MATCH": "123",
                                                           "LIFELINE_UPSTREAM_REPLAY_MATCH": #""quoted""#])
        XCTAssertEqual(config.upstream.rotateOnMatch, "123")
        XCTAssertEqual(config.upstream.replay.match, "quoted")
    }

    func testBadEnvironmentValueNamesPathAndVariable() {
        XCTAssertEqual(ConfigFixture.error(environment: ["LIFELINE_UPSTREAM_PING_INTERVAL_SECONDS": "0.01"]),
                       "config error: upstream.ping_interval_seconds = 0.01 (must be between 0.1 and 86400, or 0 (off))"
                           + " [from environment variable LIFELINE_UPSTREAM_PING_INTERVAL_SECONDS]")
        XCTAssertEqual(ConfigFixture.error(environment: ["LIFELINE_DOWNSTREAM_MAX_CONNECTIONS": "many"]),
                       #"config error: downstream.max_connections = "many" (must be an integer between 1 and 10000000)"#
                           + " [from environment variable LIFELINE_DOWNSTREAM_MAX_CONNECTIONS]")
        XCTAssertEqual(ConfigFixture.error(environment: ["LIFELINE_UPSTREAM_HEADERS": #"{"X-A":5}"#]),
                       "config error: upstream.headers.X-A = 5 (must be a string) [from environment variable LIFELINE_UPSTREAM_HEADERS]")
        XCTAssertEqual(ConfigFixture.error(environment: ["LIFELINE_UPSTREAM_URL": "http://x"]),
                       #"config error: upstream.url = "http://x" (must be a ws:// or wss:// URL) [from environment variable LIFELINE_UPSTREAM_URL]"#)
    }

    func testUnknownLifelineVariablesAreIgnoredButListed() throws {
        let environment = ["LIFELINE_CONFIG": "/etc/lifeline.json", "LIFELINE_UPSTREAM_PING_INTERVALL": "5",
                           "LIFELINE_UPSTREAM_HEADERS_X_A": "b", "HOME": "/root", "LIFELINE_WORKERS": "2"]
        XCTAssertEqual(try ConfigFixture.parse(environment: environment).workers, 2)
        XCTAssertEqual(Configuration.ignoredEnvironmentVariables(in: environment),
                       ["LIFELINE_UPSTREAM_HEADERS_X_A", "LIFELINE_UPSTREAM_PING_INTERVALL"])
    }
}
