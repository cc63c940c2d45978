import Foundation
import XCTest
@testable import LifelineCore

/// Unknown keys, wrong types, cross-field rules and file-level errors, with exact messages.
final class ConfigValidationTests: XCTestCase {
    func testUnknownKeys() {
        XCTAssertEqual(ConfigFixture.error(["upstream.ping_intervall": "5"]),
                       "config error: upstream.ping_intervall = 5 (unknown key)")
        XCTAssertEqual(ConfigFixture.error(["listne": #""127.0.0.1:1""#]),
                       #"config error: listne = "127.0.0.1:1" (unknown key)"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.reconnect.max_attempt": "3"]),
                       "config error: upstream.reconnect.max_attempt = 3 (unknown key)")
        XCTAssertEqual(ConfigFixture.error(["downstream.tls": #"{"cert_file":"c","key_file":"k","chain":"x"}"#]),
                       #"config error: downstream.tls.chain = "x" (unknown key)"#)
        XCTAssertEqual(ConfigFixture.error(["log.colour": "true"]), "config error: log.colour = true (unknown key)")
    }

    /// Keys are echoed so that the message stays one line and starts with "config error: "
    /// even to a reader comparing characters: control characters, and combining marks
    /// that start a key (they would join the space or dot before them), become \uXXXX.
    func testUnknownKeysWithControlCharactersOrLeadingCombiningMarks() throws {
        let cases: [(json: String, message: String)] = [
            // What fuzz-config found: U+031E starting the key.
            ("{\"\u{031E}m\":{\"u\":{}}}", #"config error: \u031em = {"u":{}} (unknown key)"#),
            (#"{"upstream":{"url":"ws://a","\n":1}}"#, #"config error: upstream.\u000a = 1 (unknown key)"#),
            ("{\"upstream\":{\"\u{0301}\u{0302}x\u{0301}\":1}}", "config error: upstream.\\u0301\\u0302x\u{0301} = 1 (unknown key)"),
            ("{\"\u{200D}a\":1}", #"config error: \u200da = 1 (unknown key)"#),
            // Above U+FFFF: a JSON surrogate pair (U+1D165, a musical combining mark).
            ("{\"\u{1D165}\":1}", #"config error: \ud834\udd65 = 1 (unknown key)"#),
            (#"{"a\u0001\u0301":1}"#, #"config error: a\u0001\u0301 = 1 (unknown key)"#),
        ]
        for (json, message) in cases {
            let error = try XCTUnwrap(ConfigFixture.error(json: json), json)
            XCTAssertEqual(error, message)
            XCTAssertTrue(error.hasPrefix("config error: "), error)   // Characters, not only bytes
        }
    }

    func testDuplicateKey() {
        XCTAssertEqual(ConfigFixture.error(json: #"{"upstream":{"url":"ws://a","url":"ws://b"}}"#),
                       #"config error: upstream.url = "ws://b" (duplicate key)"#)
    }

    func testMissingURL() {
        XCTAssertEqual(ConfigFixture.error(withURL: false), "config error: upstream.url is required")
        XCTAssertEqual(ConfigFixture.error(["upstream.dedupe_window": "1"], withURL: false), "config error: upstream.url is required")
    }

    func testWrongTypes() {
        XCTAssertEqual(ConfigFixture.error(["workers": #""two""#]),
                       #"config error: workers = "two" (must be an integer between 1 and 256 or "auto")"#)
        XCTAssertEqual(ConfigFixture.error(["workers": "1.5"]),
                       #"config error: workers = 1.5 (must be an integer between 1 and 256 or "auto")"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.ping_interval_seconds": #""5""#]),
                       #"config error: upstream.ping_interval_seconds = "5" (must be a number between 0.1 and 86400, or 0 (off))"#)
        XCTAssertEqual(ConfigFixture.error(["shutdown_grace_seconds": "true"]),
                       "config error: shutdown_grace_seconds = true (must be a number between 0 and 3600)")
        XCTAssertEqual(ConfigFixture.error(["upstream.tls.verify": #""yes""#]),
                       #"config error: upstream.tls.verify = "yes" (must be true or false)"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.url": "42"]),
                       "config error: upstream.url = 42 (must be a ws:// or wss:// URL)")
        XCTAssertEqual(ConfigFixture.error(["listen": "8080"]),
                       "config error: listen = 8080 (must be a host:port string)")
        XCTAssertEqual(ConfigFixture.error(["log": #""debug""#]), #"config error: log = "debug" (must be an object)"#)
        XCTAssertEqual(ConfigFixture.error(["log.level": #""verbose""#]),
                       #"config error: log.level = "verbose" (must be one of "debug", "info", "warn", "error")"#)
        XCTAssertEqual(ConfigFixture.error(["log.format": #""xml""#]),
                       #"config error: log.format = "xml" (must be one of "json", "text")"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.on_close": #""ignore""#]),
                       #"config error: upstream.on_close = "ignore" (must be one of "reconnect", "propagate")"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.replay.mode": "1"]),
                       #"config error: upstream.replay.mode = 1 (must be one of "all", "none", "match")"#)
        XCTAssertEqual(ConfigFixture.error(["downstream.tls": "true"]),
                       "config error: downstream.tls = true (must be an object or null)")
        XCTAssertEqual(ConfigFixture.error(["upstream.tls.ca_file": "[]"]),
                       "config error: upstream.tls.ca_file = [] (must be a file path or null)")
        XCTAssertEqual(ConfigFixture.error(["upstream.headers": #"["X-A"]"#]),
                       #"config error: upstream.headers = ["X-A"] (must be an object of header name → string value)"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.headers": #"{"X-A":1}"#]),
                       "config error: upstream.headers.X-A = 1 (must be a string)")
        XCTAssertEqual(ConfigFixture.error(["upstream": "null"], withURL: false),
                       "config error: upstream = null (must be an object)")
    }

    func testWorkersAuto() throws {
        let config = try ConfigFixture.parse(["workers": #""auto""#])
        XCTAssertTrue(config.workersIsAuto)
        XCTAssertEqual(config.workers, max(1, min(256, ProcessInfo.processInfo.activeProcessorCount)))
    }

    func testHeartbeatCrossFieldRules() {
        XCTAssertEqual(ConfigFixture.error(["downstream.ping_interval_seconds": "5", "downstream.pong_timeout_seconds": "6"]),
                       "config error: downstream.pong_timeout_seconds = 6 (must be at most downstream.ping_interval_seconds = 5)")
        XCTAssertNil(ConfigFixture.error(["downstream.ping_interval_seconds": "5", "downstream.pong_timeout_seconds": "5"]))
        XCTAssertNil(ConfigFixture.error(["upstream.ping_interval_seconds": "0", "upstream.pong_timeout_seconds": "3600"]))
        XCTAssertEqual(ConfigFixture.error(["upstream.slow_after_missed_pongs": "3"]),
                       "config error: upstream.slow_after_missed_pongs = 3 (must be at most upstream.max_missed_pongs = 2)")
        XCTAssertNil(ConfigFixture.error(["upstream.slow_after_missed_pongs": "2"]))
    }

    func testRotationJitterAtMostLifetime() {
        XCTAssertEqual(ConfigFixture.error(["upstream.max_lifetime_seconds": "30"]),
                       "config error: upstream.rotation_jitter_seconds = 60 (must be at most upstream.max_lifetime_seconds = 30)")
        XCTAssertNil(ConfigFixture.error(["upstream.max_lifetime_seconds": "60"]))
        XCTAssertNil(ConfigFixture.error(["upstream.max_lifetime_seconds": "0"]), "no rotation: jitter is irrelevant")
    }

    func testRegularExpressions() throws {
        XCTAssertEqual(ConfigFixture.error(["upstream.rotate_on_match": #""(unclosed""#]),
                       #"config error: upstream.rotate_on_match = "(unclosed" (must be a valid regular expression)"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.replay.match": #""[a-""#]),
                       #"config error: upstream.replay.match = "[a-" (must be a valid regular expression)"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.rotate_on_match": #""""#]),
                       #"config error: upstream.rotate_on_match = "" (must be a non-empty regular expression, or null)"#)
        XCTAssertEqual(try ConfigFixture.parse(["upstream.rotate_on_match": #""going away|restart""#]).upstream.rotateOnMatch,
                       "going away|restart")
    }

    func testReplayMatchRequiredForMatchMode() throws {
        XCTAssertEqual(ConfigFixture.error(["upstream.replay.mode": #""match""#]),
                       #"config error: upstream.replay.match is required when upstream.replay.mode = "match""#)
        let replay = try ConfigFixture.parse(["upstream.replay": #"{"mode":"match","match":"^SUB "}"#]).upstream.replay
        XCTAssertEqual(replay, ReplaySettings(mode: .match, match: "^SUB ", maxMessages: 64, maxBytes: 65536))
    }

    func testHeaders() throws {
        let headers = try ConfigFixture.parse(["upstream.headers": #"{"X-Token":"abc","Authorization":"Bearer x"}"#]).upstream.headers
        XCTAssertEqual(headers, [HeaderField(name: "Authorization", value: "Bearer x"), HeaderField(name: "X-Token", value: "abc")])
        XCTAssertEqual(ConfigFixture.error(["upstream.headers": #"{"X Token":"a"}"#]),
                       #"config error: upstream.headers.X Token = "a" (header name must be an HTTP token)"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.headers": #"{"X-A":"a\r\nEvil: 1"}"#]),
                       #"config error: upstream.headers.X-A = "a\r\nEvil: 1" (must not contain CR, LF or NUL)"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.headers": #"{"X-A":"a\u0000"}"#]),
                       #"config error: upstream.headers.X-A = "a\u0000" (must not contain CR, LF or NUL)"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.headers": #"{"Host":"x"}"#]),
                       #"config error: upstream.headers.Host = "x" (header is set by Lifeline for the WebSocket handshake)"#)
        XCTAssertEqual(ConfigFixture.error(["upstream.headers": #"{"X-A":"1","x-a":"2"}"#]),
                       #"config error: upstream.headers.x-a = "2" (duplicate header name (names are case-insensitive))"#)
    }

    func testDownstreamTLS() throws {
        let tls = try ConfigFixture.parse(["downstream.tls": #"{"cert_file":"/c.pem","key_file":"/k.pem"}"#]).downstream.tls
        XCTAssertEqual(tls, DownstreamTLSSettings(certFile: "/c.pem", keyFile: "/k.pem"))
        XCTAssertEqual(ConfigFixture.error(["downstream.tls": #"{"cert_file":"/c.pem"}"#]),
                       "config error: downstream.tls.key_file is required when downstream.tls is set")
        XCTAssertEqual(ConfigFixture.error(["downstream.tls": #"{"cert_file":"","key_file":"k"}"#]),
                       #"config error: downstream.tls.cert_file = "" (must be a non-empty file path)"#)
    }

    func testUpstreamTLS() throws {
        let tls = try ConfigFixture.parse(["upstream.tls": #"{"verify":false,"server_name":"a.example"}"#]).upstream.tls
        XCTAssertEqual(tls, UpstreamTLSSettings(verify: false, caFile: nil, serverName: "a.example"))
        XCTAssertEqual(ConfigFixture.error(["upstream.tls.server_name": #""a.example:443""#]),
                       #"config error: upstream.tls.server_name = "a.example:443" (must be a host name, or null)"#)
    }

    func testAdminListenNullAndClash() throws {
        XCTAssertNil(try ConfigFixture.parse(["admin_listen": "null"]).adminListen)
        XCTAssertEqual(ConfigFixture.error(["admin_listen": #""127.0.0.1:8080""#]),
                       #"config error: admin_listen = "127.0.0.1:8080" (must differ from listen)"#)
        XCTAssertNil(ConfigFixture.error(["listen": #""127.0.0.1:0""#, "admin_listen": #""127.0.0.1:0""#]))
    }

    func testFileLevelErrors() throws {
        XCTAssertEqual(ConfigFixture.error(json: "{\n  \"workers\": 1,\n}"),
                       "config error: configuration: invalid JSON at line 3, column 1: expected a quoted key")
        XCTAssertEqual(ConfigFixture.error(json: "[]"),
                       "config error: configuration: the top level must be a JSON object, not an array")
        XCTAssertThrowsError(try Configuration.load(path: "/nonexistent/lifeline.json", environment: [:])) { error in
            XCTAssertEqual("\(error)", "config error: /nonexistent/lifeline.json: cannot read: No such file or directory")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lifeline-\(getpid()).json")
        try Data("{\"upstream\": {\"url\": \"ws://x\"}, \"workers\": }".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        XCTAssertThrowsError(try Configuration.load(path: file.path, environment: [:])) { error in
            XCTAssertEqual("\(error)", "config error: \(file.path): invalid JSON at line 1, column 44: unexpected character")
            XCTAssertEqual((error as? ConfigError)?.path, "")
        }
        try Data("{\"upstream\": {\"url\": \"ws://x\"}, \"workers\": 4}".utf8).write(to: file)
        XCTAssertEqual(try Configuration.load(path: file.path, environment: [:]).workers, 4)
    }

    func testErrorPathIsReported() {
        do {
            _ = try ConfigFixture.parse(["upstream.reconnect.multiplier": "11"])
            XCTFail("accepted")
        } catch let error as ConfigError {
            XCTAssertEqual(error.path, "upstream.reconnect.multiplier")
        } catch {
            XCTFail("\(error)")
        }
    }
}
