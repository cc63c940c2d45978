import LifelineCore

/// Input: the bytes a client sends. Parsed whole, byte by byte and in random
/// pieces (same result every time), with tighter limits (consistent with the
/// default result), and every accepted request is checked field by field and
/// turned into the upstream request Lifeline would send, which must parse too.
enum RequestParserFuzz {
    static func run(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) {
        let n = input.count
        var parser = UpgradeRequestParser()
        let whole = parser.parse(input)
        try require(parser.parse(input) == whole, "result not sticky")
        try check(whole, input: input, maxHeadBytes: 8192, maxHeaderCount: 100)

        // Byte by byte over one growing buffer (as ProxySession does).
        var bytewise = UpgradeRequestParser()
        var result = RequestParseResult.needMore
        var fed = 0
        while fed < n, result == .needMore {
            fed += 1
            result = bytewise.parse(UnsafeRawBufferPointer(rebasing: input[..<fed]))
        }
        if fed < n { result = bytewise.parse(input) }   // decided early: later calls repeat it
        try require(result == whole, "byte by byte: \(result)\n whole: \(whole)")

        // Random pieces, each call on an exact-size copy of the bytes so far.
        var random = SplitMix(seed: input)
        var pieces = UpgradeRequestParser()
        result = .needMore
        fed = 0
        repeat {
            fed = min(n, fed + 1 + random.below(64))
            result = parseCopy(&pieces, input, upTo: fed)
        } while fed < n
        try require(result == whole, "in pieces: \(result)\n whole: \(whole)")

        // Tighter limits: the same request when it fits, else refused as too large.
        let smallHead = 1 + random.below(max(n, 1))
        let smallCount = random.below(4)
        var small = UpgradeRequestParser(maxHeadBytes: smallHead, maxHeaderCount: smallCount)
        let tight = small.parse(input)
        try check(tight, input: input, maxHeadBytes: smallHead, maxHeaderCount: smallCount)
        if case .request(let request, let headLength) = whole {
            if headLength > smallHead {
                try require(tight == .reject(HTTPRejection(status: 431, reason: "request head too large", input: .headTooLarge)),
                            "head of \(headLength) bytes with maxHeadBytes \(smallHead): \(tight)")
            } else if request.headers.count > smallCount {
                try require(tight == .reject(HTTPRejection(status: 431, reason: "too many header fields", input: .tooManyFields)),
                            "\(request.headers.count) headers with maxHeaderCount \(smallCount): \(tight)")
            } else {
                try require(tight == whole, "within tighter limits: \(tight)\n default: \(whole)")
            }
        }
    }

    static func parseCopy(_ parser: inout UpgradeRequestParser, _ input: UnsafeRawBufferPointer, upTo count: Int) -> RequestParseResult {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
        defer { copy.deallocate() }
        copy.copyMemory(from: UnsafeRawBufferPointer(rebasing: input[..<count]))
        return parser.parse(UnsafeRawBufferPointer(copy))
    }

    static func check(_ result: RequestParseResult, input: UnsafeRawBufferPointer,
                      maxHeadBytes: Int, maxHeaderCount: Int) throws(InvariantViolation) {
        let bytes = Array(input)
        switch result {
        case .needMore:
            // (== is possible while the last byte is a CR whose LF has not arrived.)
            try require(bytes.count < maxHeadBytes || bytes.count == maxHeadBytes && bytes.last == 13,
                        "needMore with \(bytes.count) bytes, limit \(maxHeadBytes)")
            try require(!bytes.contains(0), "needMore for input with a NUL")
            try require(headEnd(bytes) == nil, "needMore for input with CRLFCRLF")
        case .reject(let rejection):
            try require([400, 426, 431].contains(rejection.status), "rejected with status \(rejection.status)")
            try require((rejection.status == 426) == (rejection.input == .notWebSocket), "426 vs reason \(rejection.input)")
            try require((rejection.status == 431) == [.headTooLarge, .tooManyFields].contains(rejection.input),
                        "431 vs reason \(rejection.input)")
            try require(!rejection.reason.isEmpty, "rejection without a reason")
            if rejection.status == 426 {
                try require(rejection.extraHeaders.contains(HTTPHeader(name: "Sec-WebSocket-Version", value: "13")),
                            "426 without Sec-WebSocket-Version: 13")
            }
        case .request(let request, let headLength):
            try checkRequest(request, headLength: headLength, bytes: bytes, maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount)
        }
    }

    /// Offset just past the first CRLFCRLF, or nil.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    static func checkRequest(_ request: UpgradeRequest, headLength: Int, bytes: [UInt8],
                             maxHeadBytes: Int, maxHeaderCount: Int) throws(InvariantViolation) {
        try require(headLength <= bytes.count && headLength <= maxHeadBytes, "headLength \(headLength) of \(bytes.count), limit \(maxHeadBytes)")
        try require(headEnd(bytes) == headLength, "headLength \(headLength) is not the end of the first CRLFCRLF")
        let head = bytes[..<headLength]
        try require(!head.contains(0), "NUL in an accepted head")
        for i in head.indices {
            if head[i] == 13 { try require(i + 1 < headLength && head[i + 1] == 10, "bare CR at \(i) in an accepted head") }
            if head[i] == 10 { try require(i > 0 && head[i - 1] == 13, "bare LF at \(i) in an accepted head") }
        }
        try require(request.method == "GET", "method \(request.method) accepted")
        let line = Array("GET \(request.target) HTTP/1.".utf8)
        try require(head.starts(with: line), "request line does not match method/target \(request.target)")
        try require(!request.target.isEmpty && !request.target.contains("#"), "target \(request.target) accepted")
        try require(request.path.hasPrefix("/"), "path \(request.path) does not start with /")
        try require(request.headers.count <= maxHeaderCount, "\(request.headers.count) headers accepted, limit \(maxHeaderCount)")
        for header in request.headers {
            try require(!header.name.isEmpty && header.name.utf8.allSatisfy(Oracle.isTokenByte), "header name \(header.name) accepted")
            try require(!header.value.utf8.contains { $0 < 0x20 && $0 != 9 || $0 == 0x7F }, "control byte in header value \(header.value)")
            try require(header.value.first != " " && header.value.first != "\t" && header.value.last != " " && header.value.last != "\t",
                        "untrimmed header value '\(header.value)'")
        }
        func all(_ name: String) -> [String] {
            request.headers.filter { Oracle.lowercasedASCII($0.name) == name }.map(\.value)
        }
        try require(all("host").count == 1, "\(all("host").count) Host headers accepted")
        try require(all("sec-websocket-version") == ["13"], "Sec-WebSocket-Version \(all("sec-websocket-version")) accepted")
        try require(all("sec-websocket-key") == [request.key], "key \(request.key) is not the one Sec-WebSocket-Key header")
        try require(Oracle.base64Decode(request.key)?.count == 16, "invalid Sec-WebSocket-Key \(request.key) accepted")
        try require(all("transfer-encoding").isEmpty, "Transfer-Encoding accepted on an upgrade")
        try require(all("upgrade").count == 1, "\(all("upgrade").count) Upgrade headers accepted")
        for protocolName in request.subprotocols {
            try require(!protocolName.isEmpty && protocolName.trimmingSpaces == protocolName && !protocolName.contains(","),
                        "subprotocol '\(protocolName)'")
        }

        // What Lifeline forwards upstream for this request must itself be a valid upgrade request.
        let upstreamKey = "AQIDBAUGBwgJCgsMDQ4PEA=="
        let forwarded = UpstreamRequestBuilder.build(
            request: request, target: request.path, hostHeader: "upstream.example:8443", key: upstreamKey,
            clientAddress: "192.0.2.7", clientProto: "http", extraHeaders: [HTTPHeader(name: "X-Extra", value: "1")])
        var parser = UpgradeRequestParser(maxHeadBytes: .max, maxHeaderCount: .max)
        let reparsed = forwarded.withUnsafeBytes { parser.parse($0) }
        guard case .request(let upstream, let upstreamHead) = reparsed else {
            throw InvariantViolation("forwarded request refused: \(reparsed)\n\(String(decoding: forwarded, as: UTF8.self))")
        }
        try require(upstreamHead == forwarded.count, "forwarded head length \(upstreamHead) of \(forwarded.count)")
        try require(upstream.key == upstreamKey && upstream.target == request.path && upstream.path == request.path,
                    "forwarded request changed: \(upstream)")
        try require(upstream.header("Host") == "upstream.example:8443", "forwarded Host \(upstream.header("Host") ?? "none")")
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
