/// A listening address from `listen` / `admin_listen`: `host:port` or
/// `[v6]:port`. The host may be a name (`localhost`); port 0 asks the kernel
/// for an ephemeral port (useful in tests).
public struct HostPort: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Host name or address literal, IPv6 without brackets.
    public var host: String
    /// TCP port, 0–65535 (0 = ephemeral).
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[v6]:port`; errors name `path`.
    public init(parsing text: String, path: String) throws {
        let rule = "must be host:port or [IPv6]:port with a port between 0 and 65535"
        guard let parts = HostSyntax.split(Substring(text), portRequired: true),
              let portText = parts.port, let port = HostSyntax.port(portText, 0...65535)
        else { throw ConfigError.invalid(path, .string(text), rule) }
        self.init(host: String(parts.host), port: port)
    }

    /// `127.0.0.1:8080` or `[::1]:8080`.
    public var description: String { "\(HostSyntax.bracketed(host)):\(port)" }
}
