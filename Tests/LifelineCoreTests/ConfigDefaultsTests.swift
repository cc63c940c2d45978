import Foundation
import XCTest
@testable import LifelineCore

final class ConfigDefaultsTests: XCTestCase {
    static let specExample = """
        {
          "listen": "127.0.0.1:8080",
          "admin_listen": "127.0.0.1:9901",
          "workers": 1,
          "shutdown_grace_seconds": 10,
          "log": { "level": "info", "format": "json" },

          "downstream": {
            "ping_interval_seconds": 30,
            "pong_timeout_seconds": 10,
            "slow_after_missed_pongs": 2,
            "max_missed_pongs": 3,
            "handshake_timeout_seconds": 10,
            "max_connections": 10000,
            "tls": null
          },

          "upstream": {
            "url": "wss://stream.example.com:9443",
            "connect_timeout_seconds": 10,
            "ping_interval_seconds": 180,
            "pong_timeout_seconds": 10,
            "slow_after_missed_pongs": 1,
            "max_missed_pongs": 2,
            "max_lifetime_seconds": 14400,
            "rotation_jitter_seconds": 60,
            "rotate_on_match": null,
            "on_close": "reconnect",
            "reconnect": { "initial_delay_seconds": 0.1, "max_delay_seconds": 30,
                           "multiplier": 2.0, "jitter": 0.2, "max_attempts": 0 },
            "replay": { "mode": "all", "match": null, "max_messages": 64, "max_bytes": 65536 },
            "dedupe_window": 4096,
            "headers": {},
            "tls": { "verify": true, "ca_file": null, "server_name": null }
          },

          "limits": { "max_message_bytes": 16777216, "max_buffered_bytes": 4194304 }
        }
        """

    func testDefaultsEqualTheSpecTable() throws {
        let config = try Configuration.parse(json: Array(#"{"upstream":{"url":"ws://up.test"}}"#.utf8), environment: [:])
        XCTAssertEqual(config.listen, HostPort(host: "127.0.0.1", port: 8080))
        XCTAssertEqual(config.adminListen, HostPort(host: "127.0.0.1", port: 9901))
        XCTAssertEqual(config.workers, 1)
        XCTAssertFalse(config.workersIsAuto)
        XCTAssertEqual(config.shutdownGraceSeconds, 10)
        XCTAssertEqual(config.log, LogSettings(level: .info, format: .json))
        let down = config.downstream
        XCTAssertEqual(down.heartbeat, HeartbeatSettings(pingIntervalSeconds: 30, pongTimeoutSeconds: 10,
                                                         slowAfterMissedPongs: 2, maxMissedPongs: 3))
        XCTAssertEqual(down.handshakeTimeoutSeconds, 10)
        XCTAssertEqual(down.maxConnections, 10000)
        XCTAssertNil(down.tls)
        let up = config.upstream
        XCTAssertEqual(up.url.original, "ws://up.test")
        XCTAssertEqual(up.connectTimeoutSeconds, 10)
        XCTAssertEqual(up.heartbeat, HeartbeatSettings(pingIntervalSeconds: 180, pongTimeoutSeconds: 10,
                                                       slowAfterMissedPongs: 1, maxMissedPongs: 2))
        XCTAssertEqual(up.maxLifetimeSeconds, 14400)
        XCTAssertEqual(up.rotationJitterSeconds, 60)
        XCTAssertNil(up.rotateOnMatch)
        XCTAssertEqual(up.onClose, .reconnect)
        XCTAssertEqual(up.reconnect, ReconnectSettings(initialDelaySeconds: 0.1, maxDelaySeconds: 30, multiplier: 2,
                                                       jitter: 0.2, maxAttempts: 0))
        XCTAssertEqual(up.replay, ReplaySettings(mode: .all, match: nil, maxMessages: 64, maxBytes: 65536))
        XCTAssertEqual(up.dedupeWindow, 4096)
        XCTAssertEqual(up.headers, [])
        XCTAssertEqual(up.tls, UpstreamTLSSettings(verify: true, caFile: nil, serverName: nil))
        XCTAssertEqual(config.limits, LimitsSettings(maxMessageBytes: 16_777_216, maxBufferedBytes: 4_194_304))
    }

    func testSpecExampleParsesToTheDefaults() throws {
        let config = try Configuration.parse(json: Array(Self.specExample.utf8), environment: [:])
        let url = try UpstreamURL(parsing: "wss://stream.example.com:9443")
        XCTAssertEqual(config, Configuration(upstream: UpstreamSettings(url: url)))
        XCTAssertEqual(config.upstream.url.port, 9443)
        XCTAssertTrue(config.upstream.url.isTLS)
    }

    func testEffectiveJSONOfDefaultsFollowsTheSpecOrder() throws {
        let config = try Configuration.parse(json: Array(Self.specExample.utf8), environment: [:])
        let text = config.effectiveJSON()
        XCTAssertTrue(text.hasPrefix("{\n  \"listen\": \"127.0.0.1:8080\",\n  \"admin_listen\": \"127.0.0.1:9901\",\n  \"workers\": 1,\n"), text)
        XCTAssertTrue(text.contains("\"initial_delay_seconds\": 0.1,"), text)
        XCTAssertTrue(text.contains("\"multiplier\": 2,"), text)
        XCTAssertTrue(text.contains("\"tls\": null"), text)
        XCTAssertTrue(text.hasSuffix("}\n"))
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(text.utf8)))
    }

    func testEffectiveJSONRoundTrips() throws {
        let config = try ConfigFixture.parse([
            "listen": #""[::1]:0""#, "admin_listen": "null", "workers": #""auto""#, "shutdown_grace_seconds": "2.5",
            "log": #"{"level":"debug","format":"text"}"#,
            "downstream.ping_interval_seconds": "0", "downstream.tls": #"{"cert_file":"c.pem","key_file":"k.pem"}"#,
            "upstream.url": #""wss://[::1]:9443/base/""#, "upstream.rotate_on_match": #""shutting \"down\"\\s+soon""#,
            "upstream.on_close": #""propagate""#, "upstream.reconnect.jitter": "0.05",
            "upstream.replay": #"{"mode":"match","match":"^sub","max_messages":0,"max_bytes":1000000}"#,
            "upstream.headers": #"{"X-B":"2","Authorization":"Bearer t\u00e9"}"#,
            "upstream.tls": #"{"verify":false,"ca_file":"/ca.pem","server_name":"stream.example.com"}"#,
            "upstream.max_lifetime_seconds": "0", "limits.max_message_bytes": "2147483648",
        ])
        XCTAssertTrue(config.workersIsAuto)
        let again = try Configuration.parse(json: Array(config.effectiveJSON().utf8), environment: [:])
        XCTAssertEqual(again, config)
        XCTAssertEqual(again.effectiveJSON(), config.effectiveJSON())
        XCTAssertTrue(config.effectiveJSON().contains("\"workers\": \"auto\""))
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(config.effectiveJSON().utf8)))
    }

    /// Every schema path appears in the effective JSON and nothing else does,
    /// so the env layer, the unknown-key check and the decoder agree.
    func testSchemaMatchesEffectiveJSON() throws {
        let config = try ConfigFixture.parse(["downstream.tls": #"{"cert_file":"c","key_file":"k"}"#])
        func paths(_ value: JSONValue, _ prefix: String) -> [String] {
            guard case .object(let members) = value, prefix != "upstream.headers" else { return [] }
            return members.flatMap { member -> [String] in
                let path = prefix.isEmpty ? member.key : prefix + "." + member.key
                return [path] + paths(member.value, path)
            }
        }
        XCTAssertEqual(paths(config.json, ""), ConfigSchema.entries.map(\.path))
    }

    func testEnvironmentNamesAreUnique() {
        let names = ConfigSchema.entries.map { Configuration.environmentVariable(for: $0.path) }
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertEqual(Configuration.environmentVariable(for: "upstream.reconnect.max_attempts"),
                       "LIFELINE_UPSTREAM_RECONNECT_MAX_ATTEMPTS")
    }
}
