/// `downstream.tls`: the certificate and key Lifeline presents when it
/// terminates TLS for the application (wss:// to the app). Files are read by
/// the TLS layer at start-up, not checked here.
public struct DownstreamTLSSettings: Equatable, Sendable {
    /// Path of the PEM certificate chain file.
    public var certFile: String
    /// Path of the PEM private key file.
    public var keyFile: String

    public init(certFile: String, keyFile: String) {
        self.certFile = certFile
        self.keyFile = keyFile
    }
}

extension DownstreamTLSSettings {
    /// Both keys are required, non-empty strings.
    init(from object: ConfigObject) throws {
        func file(_ key: String) throws -> String {
            guard let path = try object.string(key, expected: "a file path") else {
                throw ConfigError.missing(object.path(key), when: "\(object.path) is set")
            }
            guard !path.isEmpty else { throw ConfigError.invalid(object.path(key), .string(path), "must be a non-empty file path") }
            return path
        }
        self.init(certFile: try file("cert_file"), keyFile: try file("key_file"))
    }

    var json: JSONValue { .object([("cert_file", .string(certFile)), ("key_file", .string(keyFile))]) }
}
