/// The request line `method SP request-target SP HTTP-version` (RFC 9112 §3), strictly:
/// single spaces, a token method, a visible-ASCII target, and HTTP/1.1 (any HTTP/1.x with x ≥ 1
/// is treated as 1.1, per RFC 9110 §2.5; HTTP/1.0 and everything else are refused).
struct RequestLine {
    var method: String
    var target: String

    /// Why the request line is refused (all answered with 400).
    enum Failure: Error, Equatable {
        case malformed
        case invalidMethod
        case invalidTarget
        case unsupportedVersion
    }

    init(_ line: [UInt8]) throws(Failure) {
        let parts = line.split(separator: HTTPSyntax.sp, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty else { throw Failure.malformed }
        guard HTTPSyntax.isToken(parts[0]) else { throw Failure.invalidMethod }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw Failure.invalidTarget }
        let version = Array(parts[2])
        let prefix = Array("HTTP/1.".utf8)
        guard version.count == 8, version.starts(with: prefix),
              let minor = version.last, minor >= UInt8(ascii: "1"), minor <= UInt8(ascii: "9")
        else { throw Failure.unsupportedVersion }
        method = String(decoding: parts[0], as: UTF8.self)
        target = String(decoding: parts[1], as: UTF8.self)
    }
}

extension RequestLine.Failure {
    var reason: String {
        switch self {
        case .malformed: return "malformed request line"
        case .invalidMethod: return "invalid method"
        case .invalidTarget: return "invalid character in request target"
        case .unsupportedVersion: return "unsupported HTTP version (HTTP/1.1 required)"
        }
    }
}
