/// `upstream.tls`: how Lifeline verifies the upstream server on wss://
/// (ignored for ws://).
public struct UpstreamTLSSettings: Equatable, Sendable {
    /// Verify the certificate chain and host name.
    public var verify: Bool
    /// PEM file of CAs to trust instead of the system store; nil = system store.
    public var caFile: String?
    /// Name sent as SNI and verified, when it differs from the URL host; nil = URL host.
    public var serverName: String?

    public init(verify: Bool = true, caFile: String? = nil, serverName: String? = nil) {
        self.verify = verify
        self.caFile = caFile
        self.serverName = serverName
    }
}

extension UpstreamTLSSettings {
    init(from object: ConfigObject?) throws {
        self.init()
        guard let object else { return }
        verify = try object.bool("verify", default: verify)
        caFile = try object.optionalString("ca_file", expected: "a file path")
        if let caFile, caFile.isEmpty {
            throw ConfigError.invalid(object.path("ca_file"), .string(caFile), "must be a non-empty file path, or null")
        }
        serverName = try object.optionalString("server_name", expected: "a host name")
        if let serverName, !HostSyntax.isName(Substring(serverName)) {
            throw ConfigError.invalid(object.path("server_name"), .string(serverName), "must be a host name, or null")
        }
    }

    var json: JSONValue {
        .object([("verify", .bool(verify)), ("ca_file", caFile.map(JSONValue.string) ?? .null),
                 ("server_name", serverName.map(JSONValue.string) ?? .null)])
    }
}
