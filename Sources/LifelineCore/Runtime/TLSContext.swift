import COpenSSL
import Glibc

/// One OpenSSL `SSL_CTX` per configuration, built once at start (or on reload) on the
/// main thread and shared by every connection of every worker: `SSL_new` on a shared
/// context is thread-safe, and each `SSL` holds its own reference to the context, so a
/// replaced context lives on until its last connection is gone.
///
/// * client (upstream wss://): TLS 1.2 minimum, the system trust store or
///   `upstream.tls.ca_file`, peer verification, ALPN "http/1.1"; the name to verify and
///   send as SNI (`server_name`, else the URL host) is kept here for `TLSSession`.
/// * server (`downstream.tls`): the certificate chain and its private key, checked to match.
///
/// Building fails with a `TLSSetupError` naming the configuration field and the file.
final class TLSContext: @unchecked Sendable {
    enum Kind { case client, server }

    /// The `SSL_CTX *`.
    let raw: OpaquePointer
    let kind: Kind
    /// Client contexts: the name (or IP address) the upstream's certificate must match
    /// and, for names, the SNI sent. Nil for server contexts.
    let peer: TLSPeerName?
    /// Client contexts: false when `upstream.tls.verify` is off.
    let verifiesPeer: Bool

    private init(raw: OpaquePointer, kind: Kind, peer: TLSPeerName?, verifiesPeer: Bool) {
        self.raw = raw
        self.kind = kind
        self.peer = peer
        self.verifiesPeer = verifiesPeer
    }

    deinit { SSL_CTX_free(raw) }

    /// The upstream client context for `wss://host` with `upstream.tls` settings.
    static func client(_ settings: UpstreamTLSSettings, urlHost: String) throws(TLSSetupError) -> TLSContext {
        let ctx = try makeContext(method: TLS_client_method(), field: "upstream.tls")
        if settings.verify {
            if let caFile = settings.caFile {
                try checkReadable(caFile, field: "upstream.tls.ca_file", ctx: ctx)
                ERR_clear_error()
                guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                    SSL_CTX_free(ctx)
                    throw TLSSetupError(field: "upstream.tls.ca_file", file: caFile,
                                        message: "no usable CA certificate in it (\(OpenSSLErrors.take() ?? "unknown error"))")
                }
            } else {
                ERR_clear_error()
                guard SSL_CTX_set_default_verify_paths(ctx) == 1 else {
                    SSL_CTX_free(ctx)
                    throw TLSSetupError(field: "upstream.tls", file: nil,
                                        message: "cannot use the system trust store (\(OpenSSLErrors.take() ?? "unknown error"))")
                }
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
        // ALPN wire format: length-prefixed protocol names. Note: 0 means success here.
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        _ = alpn.withUnsafeBufferPointer { SSL_CTX_set_alpn_protos(ctx, $0.baseAddress, UInt32($0.count)) }
        let name = settings.serverName ?? urlHost
        return TLSContext(raw: ctx, kind: .client, peer: TLSPeerName(name), verifiesPeer: settings.verify)
    }

    /// The downstream server context presenting `downstream.tls`'s certificate and key.
    static func server(_ settings: DownstreamTLSSettings) throws(TLSSetupError) -> TLSContext {
        let ctx = try makeContext(method: TLS_server_method(), field: "downstream.tls")
        _ = lifeline_SSL_CTX_set_options(ctx, LIFELINE_SSL_OP_NO_RENEGOTIATION)
        try checkReadable(settings.certFile, field: "downstream.tls.cert_file", ctx: ctx)
        try checkReadable(settings.keyFile, field: "downstream.tls.key_file", ctx: ctx)
        ERR_clear_error()
        guard SSL_CTX_use_certificate_chain_file(ctx, settings.certFile) == 1 else {
            SSL_CTX_free(ctx)
            throw TLSSetupError(field: "downstream.tls.cert_file", file: settings.certFile,
                                message: "not a usable PEM certificate chain (\(OpenSSLErrors.take() ?? "unknown error"))")
        }
        ERR_clear_error()
        guard SSL_CTX_use_PrivateKey_file(ctx, settings.keyFile, LIFELINE_SSL_FILETYPE_PEM) == 1 else {
            SSL_CTX_free(ctx)
            throw TLSSetupError(field: "downstream.tls.key_file", file: settings.keyFile,
                                message: "not a usable PEM private key, or it does not match the certificate in \(settings.certFile) (\(OpenSSLErrors.take() ?? "unknown error"))")
        }
        ERR_clear_error()
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            SSL_CTX_free(ctx)
            throw TLSSetupError(field: "downstream.tls.key_file", file: settings.keyFile,
                                message: "does not match the certificate in \(settings.certFile) (\(OpenSSLErrors.take() ?? "unknown error"))")
        }
        return TLSContext(raw: ctx, kind: .server, peer: nil, verifiesPeer: false)
    }

    /// What both kinds share: TLS 1.2 minimum, an EOF without close_notify is an ordinary
    /// end of stream, partial writes retried from a buffer that may move, and record
    /// buffers given back while a connection is idle.
    private static func makeContext(method: OpaquePointer?, field: String) throws(TLSSetupError) -> OpaquePointer {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(method) else {
            throw TLSSetupError(field: field, file: nil, message: "cannot create a TLS context (\(OpenSSLErrors.take() ?? "unknown error"))")
        }
        _ = lifeline_SSL_CTX_set_min_proto_version(ctx, LIFELINE_TLS1_2_VERSION)
        _ = lifeline_SSL_CTX_set_options(ctx, LIFELINE_SSL_OP_IGNORE_UNEXPECTED_EOF)
        _ = lifeline_SSL_CTX_set_mode(ctx, LIFELINE_SSL_MODE_ENABLE_PARTIAL_WRITE
            | LIFELINE_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | LIFELINE_SSL_MODE_RELEASE_BUFFERS)
        return ctx
    }

    /// A clearer message than OpenSSL's for the common case of a wrong path.
    private static func checkReadable(_ path: String, field: String, ctx: OpaquePointer) throws(TLSSetupError) {
        guard access(path, R_OK) != 0 else { return }
        let code = errno
        SSL_CTX_free(ctx)
        throw TLSSetupError(field: field, file: path, message: "cannot read it: \(String(cString: strerror(code)))")
    }
}

/// The peer identity a client connection checks: a DNS name (also sent as SNI) or an
/// IP address literal (never sent as SNI, matched against the certificate's IP SANs).
struct TLSPeerName: Equatable {
    let name: String
    let isIPAddress: Bool

    init(_ name: String) {
        self.name = name
        var v4 = in_addr(), v6 = in6_addr()
        isIPAddress = inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}

/// The contexts a worker's connections use: nil = plain TCP on that side.
public struct TLSContexts: @unchecked Sendable {
    var upstream: TLSContext?
    var downstream: TLSContext?

    public init() {}

    /// Builds what `configuration` asks for: an upstream client context for wss://,
    /// a downstream server context when `downstream.tls` is set.
    public static func build(for configuration: Configuration) throws(TLSSetupError) -> TLSContexts {
        var contexts = TLSContexts()
        if configuration.upstream.url.isTLS {
            contexts.upstream = try TLSContext.client(configuration.upstream.tls, urlHost: configuration.upstream.url.host)
        }
        if let downstream = configuration.downstream.tls {
            contexts.downstream = try TLSContext.server(downstream)
        }
        return contexts
    }
}

/// A TLS context could not be built from the configuration: which field, which file, why.
public struct TLSSetupError: Error, CustomStringConvertible {
    public var field: String
    public var file: String?
    public var message: String

    public var description: String {
        if let file { return "\(field) = \(file): \(message)" }
        return "\(field): \(message)"
    }
}

/// OpenSSL's thread-local error queue, read at the boundary.
enum OpenSSLErrors {
    /// The earliest queued error as text ("certificate verify failed"), or nil; empties the queue.
    static func take() -> String? {
        let code = ERR_get_error()
        defer { ERR_clear_error() }
        guard code != 0 else { return nil }
        if let reason = ERR_reason_error_string(code) { return String(cString: reason) }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(cString: buffer)
    }
}
