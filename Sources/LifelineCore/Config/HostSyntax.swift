#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Syntax checks for host names and addresses shared by `HostPort`,
/// `UpstreamURL` and `upstream.tls.server_name`. No name resolution here:
/// that happens per connection at run time (spec §4).
enum HostSyntax {
    /// A DNS name or IPv4 literal: letters, digits, `-`, `.`, `_`, at most 253 bytes.
    static func isName(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.count <= 253 && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }
    }

    /// An IPv6 literal without brackets, as `inet_pton` accepts it (no zone id).
    static func isIPv6(_ text: Substring) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, String(text), &address) == 1
    }

    /// A decimal port without sign or spaces, within `range`.
    static func port(_ text: Substring, _ range: ClosedRange<Int>) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let port = Int(text), range.contains(port) else { return nil }
        return port
    }

    /// Splits `host:port` or `[v6]:port` into the host (brackets removed) and
    /// the port text; nil when there is no port part or the brackets are bad.
    /// `portRequired: false` also accepts a bare `host` or `[v6]` (port text nil).
    static func split(_ text: Substring, portRequired: Bool) -> (host: Substring, port: Substring?)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard isIPv6(host) else { return nil }
            if rest.isEmpty { return portRequired ? nil : (host, nil) }
            guard rest.hasPrefix(":") else { return nil }
            return (host, rest.dropFirst())
        }
        guard let colon = text.lastIndex(of: ":") else { return portRequired || !isName(text) ? nil : (text, nil) }
        let host = text[..<colon]
        guard isName(host) else { return nil }
        return (host, text[text.index(after: colon)...])
    }

    /// `host` with brackets when it is an IPv6 literal.
    static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
