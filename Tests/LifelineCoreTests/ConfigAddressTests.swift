import XCTest
@testable import LifelineCore

/// upstream.url and listen / admin_listen forms.
final class ConfigAddressTests: XCTestCase {
    func testPlainURL() throws {
        let url = try UpstreamURL(parsing: "ws://h")
        XCTAssertEqual(url.isTLS, false)
        XCTAssertEqual(url.host, "h")
        XCTAssertEqual(url.port, 80)
        XCTAssertEqual(url.path, "")
        XCTAssertEqual(url.hostHeader, "h")
        XCTAssertEqual(url.original, "ws://h")
    }

    func testTLSURLWithPortAndTrailingSlash() throws {
        let url = try UpstreamURL(parsing: "wss://h:9443/base/")
        XCTAssertEqual([url.isTLS ? "tls" : "plain", url.host, "\(url.port)", url.path, url.hostHeader],
                       ["tls", "h", "9443", "/base", "h:9443"])
        XCTAssertEqual(try UpstreamURL(parsing: "wss://h:443/").hostHeader, "h")
        XCTAssertEqual(try UpstreamURL(parsing: "wss://h:443/").path, "")
        XCTAssertEqual(try UpstreamURL(parsing: "ws://h:443").hostHeader, "h:443")
        XCTAssertEqual(try UpstreamURL(parsing: "WSS://Stream.Example.com/a%20b/c").path, "/a%20b/c")
    }

    func testIPv6URL() throws {
        let url = try UpstreamURL(parsing: "ws://[::1]:9000/x")
        XCTAssertEqual([url.host, "\(url.port)", url.path, url.hostHeader], ["::1", "9000", "/x", "[::1]:9000"])
        XCTAssertEqual(try UpstreamURL(parsing: "wss://[2001:db8::5]").hostHeader, "[2001:db8::5]")
        XCTAssertEqual(try UpstreamURL(parsing: "ws://10.0.0.1:81").hostHeader, "10.0.0.1:81")
    }

    func testBadURLs() {
        let cases: [(String, String)] = [
            ("http://h", "must be a ws:// or wss:// URL"),
            ("h:80", "must be a ws:// or wss:// URL"),
            ("ws://user:pw@h", "must not contain user info; use upstream.headers for credentials"),
            ("ws://h/x?a=1", "must not have a query; the client's path and query are appended to it"),
            ("ws://h/x#f", "must not have a fragment"),
            ("ws://", "must have a host name, IPv4 address or [IPv6] address"),
            ("ws:///x", "must have a host name, IPv4 address or [IPv6] address"),
            ("ws://::1:80", "must have a host name, IPv4 address or [IPv6] address"),
            ("ws://[::1", "must have a host name, IPv4 address or [IPv6] address"),
            ("ws://[zz]:80", "must have a host name, IPv4 address or [IPv6] address"),
            ("ws://h:0", "port must be between 1 and 65535"),
            ("ws://h:65536", "port must be between 1 and 65535"),
            ("ws://h:", "port must be between 1 and 65535"),
            ("ws://h:8o", "port must be between 1 and 65535"),
            ("ws://h/a b", "path must not contain spaces, control characters or non-ASCII (percent-encode them)"),
        ]
        for (text, rule) in cases {
            XCTAssertEqual(ConfigFixture.error(["upstream.url": JSONWriter.quoted(text)]),
                           "config error: upstream.url = \(JSONWriter.quoted(text)) (\(rule))")
        }
    }

    func testListenForms() throws {
        XCTAssertEqual(try HostPort(parsing: "127.0.0.1:8080", path: "listen"), HostPort(host: "127.0.0.1", port: 8080))
        XCTAssertEqual(try HostPort(parsing: "[::1]:8080", path: "listen"), HostPort(host: "::1", port: 8080))
        XCTAssertEqual(try HostPort(parsing: "localhost:0", path: "listen"), HostPort(host: "localhost", port: 0))
        XCTAssertEqual(try HostPort(parsing: "0.0.0.0:65535", path: "listen").port, 65535)
        XCTAssertEqual(HostPort(host: "::1", port: 8080).description, "[::1]:8080")
        XCTAssertEqual(HostPort(host: "127.0.0.1", port: 8080).description, "127.0.0.1:8080")
        let config = try ConfigFixture.parse(["listen": #""[::]:9000""#, "admin_listen": #""localhost:9901""#])
        XCTAssertEqual(config.listen, HostPort(host: "::", port: 9000))
        XCTAssertEqual(config.adminListen, HostPort(host: "localhost", port: 9901))
    }

    func testBadListenForms() {
        for text in ["127.0.0.1", ":8080", "h:65536", "h:-1", "::1:8080", "[::1]8080", "[::1]", "h:", "a b:80", "h:80x"] {
            XCTAssertEqual(ConfigFixture.error(["listen": JSONWriter.quoted(text)]),
                           "config error: listen = \(JSONWriter.quoted(text)) (must be host:port or [IPv6]:port with a port between 0 and 65535)")
        }
        XCTAssertEqual(ConfigFixture.error(["admin_listen": #""x""#]),
                       #"config error: admin_listen = "x" (must be host:port or [IPv6]:port with a port between 0 and 65535)"#)
    }
}
