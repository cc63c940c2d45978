/// What the upstream answered to our upgrade request, or that more bytes are needed.
public enum ResponseParseResult: Equatable {
    case needMore
    /// A VALID 101: Upgrade websocket, Connection upgrade, Sec-WebSocket-Accept == expected,
    /// subprotocol (if any) one we offered, no Sec-WebSocket-Extensions. Bytes after headLength are WebSocket frames.
    case switching(UpgradeResponse, headLength: Int)
    /// A complete non-101 response; body complete by Content-Length, chunked (decoded), or
    /// close-delimited (complete when eof == true); 1xx other than 101 skipped.
    case refused(UpgradeResponse, body: [UInt8])
    /// Malformed head, head > maxHeadBytes or > maxHeaderCount fields, body > maxBodyBytes,
    /// a 101 with a body, bad 101 (wrong accept, extension, unoffered subprotocol), eof before a
    /// complete response; with the metric reason (`lifeline_rejected_inputs_total{side="upstream"}`).
    case invalid(RejectedInput, reason: String)
}

/// Incremental client-side parser, same buffer convention as `UpgradeRequestParser`: one growing
/// buffer passed whole on every call, linear total work. Interim 1xx heads count towards
/// `maxHeadBytes` together with the final head. Once decided, later calls return the same result.
public struct UpgradeResponseParser {
    /// Which part of the response the parser is reading, with what it has learnt so far.
    private enum Phase {
        case head
        case body(UpgradeResponse, ResponseBodyFraming, start: Int)
        case chunked(UpgradeResponse, ChunkedBodyDecoder)
        case decided(ResponseParseResult)
    }

    private let expectedAccept: String
    private let offeredProtocols: [String]
    private let maxBodyBytes: Int
    private let maxHeaderCount: Int
    private var scanner: HeadScanner
    private var phase = Phase.head

    public init(expectedAccept: String, offeredProtocols: [String], maxHeadBytes: Int = 16384, maxHeaderCount: Int = 100,
                maxBodyBytes: Int = 65536) {
        self.expectedAccept = expectedAccept
        self.offeredProtocols = offeredProtocols
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderCount = maxHeaderCount
        self.scanner = HeadScanner(maxHeadBytes: maxHeadBytes)
    }

    public mutating func parse(_ buffer: UnsafeRawBufferPointer, eof: Bool) -> ResponseParseResult {
        let result = step(buffer, eof: eof)
        if case .needMore = result { return result }
        phase = .decided(result)
        return result
    }

    private mutating func step(_ buffer: UnsafeRawBufferPointer, eof: Bool) -> ResponseParseResult {
        while true {
            switch phase {
            case .decided(let result):
                return result
            case .head:
                switch scanner.scan(buffer) {
                case .needMore:
                    return eof ? .invalid(.truncatedResponse, reason: "upstream closed before a complete response head") : .needMore
                case .tooLarge: return .invalid(.headTooLarge, reason: "response head too large")
                case .nul: return .invalid(.badCharacter, reason: "NUL in response head")
                case .bareCR: return .invalid(.badCharacter, reason: "bare CR in response head")
                case .bareLF: return .invalid(.badCharacter, reason: "bare LF in response head")
                case .complete(let end):
                    if let result = headComplete(buffer, end: end) { return result }
                }
            case .body(let response, let framing, let start):
                return body(buffer, eof: eof, response: response, framing: framing, start: start)
            case .chunked(let response, var decoder):
                phase = .head   // placeholder, so the decoder's body buffer is uniquely referenced while it grows
                let progress = decoder.decode(buffer)
                phase = .chunked(response, decoder)
                switch progress {
                case .done: return .refused(response, body: decoder.body)
                case .invalid(let reason): return .invalid(.badBody, reason: reason)
                case .needMore: return eof ? .invalid(.truncatedResponse, reason: "upstream closed inside a chunked body") : .needMore
                }
            }
        }
    }

    /// Interprets a complete head and moves to the next phase; nil means keep looping.
    private mutating func headComplete(_ buffer: UnsafeRawBufferPointer, end: Int) -> ResponseParseResult? {
        let head: MessageHead
        do {
            head = try MessageHead(buffer, range: scanner.start..<end, maxFields: maxHeaderCount, lossyText: true)
        } catch {
            return .invalid(error == .emptyStartLine ? .badStatusLine : error.rejectedInput, reason: error.reason)
        }
        guard let line = StatusLine(head.startLine) else { return .invalid(.badStatusLine, reason: "malformed status line") }
        let response = UpgradeResponse(status: line.status, reason: line.reason, headers: head.headers, minorVersion: line.minorVersion)
        if response.status == 101 {
            if let problem = Self.bodyProblem(on101: response) { return .invalid(.bodyOn101, reason: problem) }
            if let problem = SwitchingValidator.problem(with: response, expectedAccept: expectedAccept, offeredProtocols: offeredProtocols) {
                return .invalid(.invalid101, reason: problem)
            }
            return .switching(response, headLength: end)
        }
        if response.status < 200 {
            scanner.restart(at: end)   // interim response (100 Continue, 103 Early Hints): skip
            return nil
        }
        switch ResponseBodyFraming.of(response, maxBodyBytes: maxBodyBytes) {
        case .failure(let error):
            return .invalid(.badBody, reason: error.reason)
        case .success(.chunked):
            phase = .chunked(response, ChunkedBodyDecoder(start: end, maxBodyBytes: maxBodyBytes, maxTrailerBytes: scanner.maxHeadBytes))
        case .success(let framing):
            phase = .body(response, framing, start: end)
        }
        return nil
    }

    private func body(_ buffer: UnsafeRawBufferPointer, eof: Bool, response: UpgradeResponse,
                      framing: ResponseBodyFraming, start: Int) -> ResponseParseResult {
        let available = buffer.count - start
        switch framing {
        case .empty, .chunked:
            return .refused(response, body: [])
        case .length(let length):
            if available >= length { return .refused(response, body: Array(buffer[start..<start + length])) }
            return eof ? .invalid(.truncatedResponse, reason: "upstream closed before the end of the response body") : .needMore
        case .untilClose:
            if available > maxBodyBytes { return .invalid(.badBody, reason: "response body too large") }
            return eof ? .refused(response, body: Array(buffer[start...])) : .needMore
        }
    }

    /// Why a 101 claims a body, if it does: a 101 has none (RFC 9110 §15.2), so a
    /// Transfer-Encoding or a non-zero Content-Length means upstream and Lifeline would
    /// disagree about where the WebSocket stream starts.
    private static func bodyProblem(on101 response: UpgradeResponse) -> String? {
        if response.headers.count(named: "Transfer-Encoding") > 0 { return "101 with Transfer-Encoding" }
        for length in response.headers.all(named: "Content-Length") {
            guard !length.isEmpty, length.utf8.allSatisfy({ $0 == UInt8(ascii: "0") }) else {
                return "101 with a non-zero Content-Length"
            }
        }
        return nil
    }
}
