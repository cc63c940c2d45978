/// TLS handshake failures reported by a `Connection` (TLS lives entirely in the
/// connection; this is the one place a session hears about it).
extension ProxySession {
    /// Upstream: the app gets 502 naming OpenSSL's reason, counted as a "tls" connect
    /// failure. Downstream: the app's TLS handshake failed, nothing can be said to it.
    func tlsHandshakeFailed(_ connection: Connection, reason: String) {
        if connection.role == .upstream {
            guard phase == .connecting, connection === upstream else { return }
            failUpstreamHandshake(status: 502, reason: "TLS handshake with upstream failed: \(reason)", failure: "tls")
        } else {
            Logger.shared.info("downstream.tls_failed", ["client": .string(peer.description), "reason": .string(reason)])
            closeEverything()
        }
    }
}
