/// The parsed `upstream.url`: `ws://` or `wss://`, a host (name, IPv4, or
/// `[IPv6]`), an optional port 1–65535 and an optional base path; no user
/// info, query or fragment (the client's path and query are appended, §3).
public struct UpstreamURL: Equatable, Sendable {
    /// true for `wss://`.
    public var isTLS: Bool
    /// Host name or address, IPv6 without brackets.
    public var host: String
    /// TCP port; 80 / 443 when the URL has none.
    public var port: Int
    /// Base path without trailing slashes; "" for none or "/".
    public var path: String
    /// The `Host` header value: host, plus `:port` when not the scheme's default; IPv6 bracketed.
    public var hostHeader: String
    /// The URL exactly as configured.
    public var original: String

    /// The scheme's default port: 443 for wss, 80 for ws.
    public var defaultPort: Int { isTLS ? 443 : 80 }

    /// Parses and validates; errors name `path` (the JSON path, normally `upstream.url`).
    public init(parsing text: String, path jsonPath: String = "upstream.url") throws {
        func fail(_ rule: String) -> ConfigError { ConfigError.invalid(jsonPath, .string(text), rule) }
        let lower = text.lowercased()
        let isTLS: Bool
        if lower.hasPrefix("wss://") { isTLS = true } else if lower.hasPrefix("ws://") { isTLS = false } else {
            throw fail("must be a ws:// or wss:// URL")
        }
        let rest = Substring(text).dropFirst(isTLS ? 6 : 5)
        if rest.contains("#") { throw fail("must not have a fragment") }
        if rest.contains("?") { throw fail("must not have a query; the client's path and query are appended to it") }
        let authority = rest.prefix { $0 != "/" }
        let pathPart = rest.dropFirst(authority.count)
        if authority.contains("@") { throw fail("must not contain user info; use upstream.headers for credentials") }
        guard let parts = HostSyntax.split(authority, portRequired: false), !parts.host.isEmpty else {
            throw fail("must have a host name, IPv4 address or [IPv6] address")
        }
        let (host, portText) = (parts.host, parts.port)
        var port = isTLS ? 443 : 80
        if let portText {
            guard let parsed = HostSyntax.port(portText, 1...65535) else { throw fail("port must be between 1 and 65535") }
            port = parsed
        }
        guard pathPart.utf8.allSatisfy(Self.isPathByte) else {
            throw fail("path must not contain spaces, control characters or non-ASCII (percent-encode them)")
        }
        var trimmed = pathPart
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        self.isTLS = isTLS
        self.host = String(host)
        self.port = port
        self.path = String(trimmed)
        self.hostHeader = HostSyntax.bracketed(String(host)) + (port == (isTLS ? 443 : 80) ? "" : ":\(port)")
        self.original = text
    }

    /// RFC 3986 path characters (pchar and "/"), percent-escapes allowed.
    private static func isPathByte(_ byte: UInt8) -> Bool {
        guard byte > 0x20, byte < 0x7F else { return false }
        return !"\"<>\\^`{|}".utf8.contains(byte)
    }
}
