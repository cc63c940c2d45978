import Glibc

/// TLS handshake failures reported by a `Connection` (TLS lives entirely in the
/// connection; this is the one place a session hears about it).
extension ProxySession {
    /// Upstream: counted as a "tls" connect failure and logged with OpenSSL's reason; on
    /// the first connection the app gets 502, on a replacement the hand-over retries. Downstream: the app's TLS handshake failed, nothing can be said to it; a
    /// client that merely closed (a TCP health probe) is logged at debug level only.
    func tlsHandshakeFailed(_ connection: Connection, failure: TLSFailure) {
        if connection.role == .upstream {
            guard let leg = leg(of: connection), leg.phase == .connecting else { return }
            legFailed(leg, status: 502, reason: "TLS handshake with upstream failed: \(failure.reason)", failure: "tls")
        } else {
            let fields: KeyValuePairs<String, LogValue> = ["client": .string(peer.description), "reason": .string(failure.reason)]
            if failure.code == ECONNRESET || failure.code == EPIPE {
                Logger.shared.debug("downstream.tls_failed", fields)
            } else {
                Logger.shared.info("downstream.tls_failed", fields)
            }
            closeEverything()
        }
    }
}
