import COpenSSL

/// The RFC 6455 §4 handshake nonce and its proof: Sec-WebSocket-Key generation and the
/// Sec-WebSocket-Accept value derived from it (SHA-1 from OpenSSL).
public enum WebSocketAccept {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// base64(SHA1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
    public static func compute(key: String) -> String {
        let input = Array((key + guid).utf8)
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        input.withUnsafeBufferPointer { src in
            digest.withUnsafeMutableBufferPointer { dst in
                _ = SHA1(src.baseAddress, src.count, dst.baseAddress)
            }
        }
        return Base64.encode(digest)
    }

    /// base64 of 16 random bytes from RAND_bytes. Should OpenSSL's generator ever fail, the
    /// system generator fills in: the key is a nonce, not a secret.
    public static func makeKey() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, 16) }
        if ok != 1 {
            var rng = SystemRandomNumberGenerator()
            for i in bytes.indices { bytes[i] = rng.next() }
        }
        return Base64.encode(bytes)
    }
}
