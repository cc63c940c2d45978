import LifelineCore

/// Input: the bytes an upstream answers to our upgrade request (key
/// `dGhlIHNhbXBsZSBub25jZQ==`, subprotocols `chat` and `v2.lifeline` offered).
/// Parsed whole with and without EOF, byte by byte and in pieces (same result),
/// with tighter limits, and each result checked against the bytes.
enum ResponseParserFuzz {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    static let offered = ["chat", "v2.lifeline"]

    static func run(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) {
        try require(WebSocketAccept.compute(key: key) == accept, "RFC 6455 sample accept value")
        var random = SplitMix(seed: input)
        try runLimits(input, maxHead: 16384, maxBody: 65536, random: &random)
        try runLimits(input, maxHead: 1 + random.below(max(input.count, 1)), maxBody: random.below(64), random: &random)
    }

    static func runLimits(_ input: UnsafeRawBufferPointer, maxHead: Int, maxBody: Int,
                          random: inout SplitMix) throws(InvariantViolation) {
        let n = input.count
        func parser() -> UpgradeResponseParser {
            UpgradeResponseParser(expectedAccept: accept, offeredProtocols: offered, maxHeadBytes: maxHead, maxBodyBytes: maxBody)
        }
        var p = parser()
        let whole = p.parse(input, eof: true)
        try require(p.parse(input, eof: true) == whole, "result not sticky")
        try require(whole != .needMore, "needMore at EOF")
        try check(whole, bytes: Array(input), maxHead: maxHead, maxBody: maxBody)

        var early = parser()
        let beforeEOF = early.parse(input, eof: false)
        try require(beforeEOF == .needMore || beforeEOF == whole, "without EOF: \(beforeEOF)\n with EOF: \(whole)")

        // Byte by byte over one growing buffer, then EOF.
        var bytewise = parser()
        var result = ResponseParseResult.needMore
        var fed = 0
        while fed < n, result == .needMore {
            fed += 1
            result = bytewise.parse(UnsafeRawBufferPointer(rebasing: input[..<fed]), eof: false)
        }
        result = bytewise.parse(input, eof: true)
        try require(result == whole, "byte by byte: \(result)\n whole: \(whole)")

        // Random pieces, each on an exact-size copy.
        var pieces = parser()
        fed = 0
        while fed < n {
            fed = min(n, fed + 1 + random.below(64))
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: fed, alignment: 1)
            copy.copyMemory(from: UnsafeRawBufferPointer(rebasing: input[..<fed]))
            result = pieces.parse(UnsafeRawBufferPointer(copy), eof: fed == n)
            copy.deallocate()
        }
        if n == 0 { result = pieces.parse(input, eof: true) }
        try require(result == whole, "in pieces: \(result)\n whole: \(whole)")
    }

    static func check(_ result: ResponseParseResult, bytes: [UInt8], maxHead: Int, maxBody: Int) throws(InvariantViolation) {
        switch result {
        case .needMore:
            break
        case .invalid(let input, let reason):
            try require(!reason.isEmpty, "invalid without a reason")
            try require(input.applies(to: .upstream), "response refused for a request-only reason \(input)")
        case .switching(let response, let headLength):
            try require(response.status == 101, "switching with status \(response.status)")
            try require(headLength <= bytes.count && headLength <= maxHead && headLength >= 4, "headLength \(headLength) of \(bytes.count)")
            try require(bytes[(headLength - 4)..<headLength].elementsEqual([13, 10, 13, 10]), "head does not end in CRLFCRLF")
            try require(!bytes[..<headLength].contains(0), "NUL in an accepted head")
            try require(response.minorVersion >= 1, "101 on HTTP/1.\(response.minorVersion) accepted")
            func all(_ name: String) -> [String] {
                response.headers.filter { Oracle.lowercasedASCII($0.name) == name }.map(\.value)
            }
            try require(all("sec-websocket-accept") == [accept], "accept \(all("sec-websocket-accept")) accepted")
            try require(all("transfer-encoding").isEmpty && all("content-length").allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 == "0" } },
                        "101 with a body accepted")
            try require(all("sec-websocket-extensions").allSatisfy { $0.split(separator: ",").allSatisfy { String($0).trimmingSpaces.isEmpty } },
                        "extension \(all("sec-websocket-extensions")) accepted")
            try require(all("sec-websocket-protocol").count <= 1, "several Sec-WebSocket-Protocol accepted")
            if let chosen = response.subprotocol {
                try require(offered.contains(chosen), "subprotocol \(chosen) accepted")
            }
            try require(all("upgrade").contains { $0.split(separator: ",").contains { Oracle.lowercasedASCII(String($0).trimmingSpaces) == "websocket" } },
                        "101 without Upgrade: websocket accepted")
        case .refused(let response, let body):
            try require(response.status >= 200 && response.status <= 999, "refused with status \(response.status)")
            try require(body.count <= maxBody, "body of \(body.count) bytes, limit \(maxBody)")
            try require(body.count <= bytes.count, "body longer than the input")
            if response.status == 204 || response.status == 304 { try require(body.isEmpty, "body on a \(response.status)") }
            let chunked = response.headers.contains { Oracle.lowercasedASCII($0.name) == "transfer-encoding" }
            if !chunked, !body.isEmpty {
                // An unencoded body is a run of input bytes after a CRLFCRLF.
                try require(contains(bytes, body), "body is not a slice of the input")
            }
        }
    }

    /// Does `run` start right after some CRLFCRLF in `bytes`?
    static func contains(_ bytes: [UInt8], _ run: [UInt8]) -> Bool {
        guard bytes.count >= run.count + 4 else { return false }
        for start in 4...(bytes.count - run.count)
        where bytes[start - 4] == 13 && bytes[start - 3] == 10 && bytes[start - 2] == 13 && bytes[start - 1] == 10 {
            if bytes[start..<start + run.count].elementsEqual(run) { return true }
        }
        return false
    }
}
