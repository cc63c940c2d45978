/// How a non-101 response to a GET delimits its body (RFC 9112 §6.3): none for 204/304,
/// chunked when Transfer-Encoding ends in chunked, until close for any other Transfer-Encoding,
/// else Content-Length (all values must agree), else until close.
enum ResponseBodyFraming: Equatable {
    case empty
    case length(Int)
    case chunked
    case untilClose

    /// The framing, or why it cannot be trusted (conflicting or bad Content-Length, body over the cap).
    static func of(_ response: UpgradeResponse, maxBodyBytes: Int) -> Result<ResponseBodyFraming, ResponseFramingError> {
        if response.status == 204 || response.status == 304 { return .success(.empty) }
        let codings = response.headers.listElements(named: "Transfer-Encoding")
        if !codings.isEmpty {
            return .success(HTTPSyntax.equalsIgnoringCase(codings.last!, "chunked") ? .chunked : .untilClose)
        }
        let lengths = response.headers.listElements(named: "Content-Length")
        guard let first = lengths.first else { return .success(.untilClose) }
        guard lengths.allSatisfy({ $0 == first }), first.utf8.count <= 18,
              first.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let length = Int(first)
        else { return .failure(ResponseFramingError(reason: "invalid Content-Length")) }
        guard length <= maxBodyBytes else { return .failure(ResponseFramingError(reason: "response body too large")) }
        return .success(.length(length))
    }
}

/// A response whose body framing cannot be trusted.
struct ResponseFramingError: Error, Equatable {
    var reason: String
}
