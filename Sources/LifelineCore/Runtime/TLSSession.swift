import COpenSSL
import Glibc

/// One connection's OpenSSL `SSL` object on a socket BIO over the connection's own
/// non-blocking fd. Every call is normalised at the boundary (as swift-nio-ssl's
/// `SSLConnection` does): the error queue is cleared first, the return value goes
/// through `SSL_get_error`, and callers see a `TLSResult`: complete, incomplete (with
/// the socket readiness OpenSSL waits for: WANT_READ / WANT_WRITE are flow control,
/// never errors), closed, or failed with OpenSSL's reason.
///
/// `Connection` drives it with its one `ev_io` watcher; nothing above `Connection`
/// knows whether a connection is TLS.
final class TLSSession {
    /// The `SSL *`; nil once released, or when `SSL_new` failed (`setupFailure` says why).
    private var ssl: OpaquePointer?
    private var setupFailure: String?
    let isClient: Bool
    private(set) var isEstablished = false
    /// A fatal error happened: OpenSSL forbids `SSL_shutdown` afterwards.
    private var isBroken = false
    private var sentCloseNotify = false
    /// The readiness the last incomplete `write` waits for (IOEvents.read or .write).
    private(set) var writeWants: Int32 = 0

    /// SSL_read calls one `Connection.read` may make before yielding to the loop's other
    /// connections (one TLS record, at most 16 KiB, each).
    static let recordsPerRead = 32

    init(context: TLSContext, fd: Int32) {
        isClient = context.kind == .client
        ERR_clear_error()
        guard let ssl = SSL_new(context.raw) else {
            setupFailure = "cannot create a TLS session: \(OpenSSLErrors.take() ?? "out of memory")"
            return
        }
        self.ssl = ssl
        ERR_clear_error()
        guard SSL_set_fd(ssl, fd) == 1 else {
            setupFailure = "cannot attach TLS to the socket: \(OpenSSLErrors.take() ?? "unknown error")"
            return
        }
        if isClient {
            SSL_set_connect_state(ssl)
            if let peer = context.peer {
                // SNI carries a host name, never an IP address (RFC 6066 §3).
                if !peer.isIPAddress { _ = lifeline_SSL_set_tlsext_host_name(ssl, peer.name) }
                if context.verifiesPeer {
                    if peer.isIPAddress {
                        _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), peer.name)
                    } else {
                        _ = SSL_set1_host(ssl, peer.name)
                    }
                }
            }
        } else {
            SSL_set_accept_state(ssl)
        }
        ERR_clear_error()
    }

    deinit { release() }

    /// Frees the `SSL` (and its buffers) early, when the connection closes.
    func release() {
        if let ssl { SSL_free(ssl) }
        ssl = nil
    }

    /// Advances the handshake (SSL_connect for clients, SSL_accept for servers).
    func handshake() -> TLSResult {
        guard let ssl else { return .failed(TLSFailure(reason: setupFailure ?? "TLS session released", code: EPROTO)) }
        ERR_clear_error()
        let rc = isClient ? SSL_connect(ssl) : SSL_accept(ssl)
        if rc == 1 {
            isEstablished = true
            return .complete(0)
        }
        switch normalise(rc, ssl: ssl, handshake: true) {
        case .closed:
            isBroken = true
            return .failed(TLSFailure(reason: "the peer closed the connection during the TLS handshake", code: ECONNRESET))
        case let other:
            return other
        }
    }

    /// One SSL_read: `.complete(n)` with n > 0 bytes, incomplete, closed (close_notify or
    /// an EOF, which SSL_OP_IGNORE_UNEXPECTED_EOF makes ordinary) or failed.
    @inline(__always)
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> TLSResult {
        guard let ssl else { return .closed }
        ERR_clear_error()
        let rc = SSL_read(ssl, buffer, Int32(clamping: capacity))
        if rc > 0 { return .complete(Int(rc)) }
        return normalise(rc, ssl: ssl, handshake: false)
    }

    /// One SSL_write of `count` bytes (partial writes enabled: n ≤ count bytes taken).
    /// After an incomplete write the caller must retry with the same bytes and length.
    @inline(__always)
    func write(_ bytes: UnsafeRawPointer, count: Int) -> TLSResult {
        guard let ssl else { return .failed(TLSFailure(reason: "TLS session released", code: EPIPE)) }
        ERR_clear_error()
        let rc = SSL_write(ssl, bytes, Int32(clamping: count))
        if rc > 0 { return .complete(Int(rc)) }
        let result = normalise(rc, ssl: ssl, handshake: false)
        if case .incomplete(let wants) = result { writeWants = wants }
        return result
    }

    /// Bytes OpenSSL has already taken off the socket and not yet returned: libev will
    /// not report them, so the connection reads again without waiting for an event.
    var hasBufferedInput: Bool {
        guard let ssl else { return false }
        return SSL_has_pending(ssl) == 1
    }

    /// Sends close_notify once, without waiting for the peer's (one non-blocking call).
    func shutdown() {
        guard let ssl, isEstablished, !isBroken, !sentCloseNotify else { return }
        sentCloseNotify = true
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    private func normalise(_ rc: Int32, ssl: OpaquePointer, handshake: Bool) -> TLSResult {
        let savedErrno = errno
        let code = SSL_get_error(ssl, rc)
        switch code {
        case SSL_ERROR_WANT_READ:
            return .incomplete(wants: IOEvents.read)
        case SSL_ERROR_WANT_WRITE:
            return .incomplete(wants: IOEvents.write)
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        case SSL_ERROR_SYSCALL:
            isBroken = true
            if let queued = OpenSSLErrors.take() { return .failed(TLSFailure(reason: queued, code: EPROTO)) }
            if savedErrno == 0 { return .closed } // EOF
            return .failed(TLSFailure(reason: String(cString: strerror(savedErrno)), code: savedErrno))
        case SSL_ERROR_SSL:
            isBroken = true
            var reason = OpenSSLErrors.take() ?? "TLS protocol error"
            if handshake && isClient {
                let verify = SSL_get_verify_result(ssl)
                if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) {
                    reason += ": " + String(cString: text)
                }
            }
            return .failed(TLSFailure(reason: reason, code: EPROTO))
        default:
            isBroken = true
            ERR_clear_error()
            return .failed(TLSFailure(reason: "unexpected SSL_get_error result \(code)", code: EPROTO))
        }
    }
}

@available(*, unavailable)
extension TLSSession: Sendable {}

/// What one OpenSSL call on a connection came to.
enum TLSResult {
    /// Done: bytes read or written (0 for a completed handshake).
    case complete(Int)
    /// Try again once the socket is ready for `wants` (IOEvents.read or IOEvents.write).
    case incomplete(wants: Int32)
    /// The peer ended the stream (close_notify or EOF).
    case closed
    case failed(TLSFailure)
}

/// A failed TLS call: OpenSSL's reason, and an errno standing for it in I/O outcomes.
struct TLSFailure: Error {
    var reason: String
    var code: Int32
}
