/// Why a request parse ended, or that it needs more bytes.
public enum RequestParseResult: Equatable {
    case needMore
    /// `headLength` counts the request line, headers and the blank line; later bytes belong to the caller.
    case request(UpgradeRequest, headLength: Int)
    case reject(HTTPRejection)
}

/// Incremental server-side parser: the caller keeps appending received bytes to ONE growing
/// buffer and calls `parse(_:)` with all of it each time; the parser remembers how far it already
/// scanned for the end of head (CRLFCRLF), so total work is linear. Bytes after `headLength`
/// (pipelined frames) belong to the caller. Once a result other than `needMore` is returned,
/// later calls return the same result.
public struct UpgradeRequestParser {
    private let maxHeaderCount: Int
    private var scanner: HeadScanner
    private var result: RequestParseResult?

    public init(maxHeadBytes: Int = 8192, maxHeaderCount: Int = 100) {
        self.maxHeaderCount = maxHeaderCount
        self.scanner = HeadScanner(maxHeadBytes: maxHeadBytes)
    }

    public mutating func parse(_ buffer: UnsafeRawBufferPointer) -> RequestParseResult {
        if let result { return result }
        let outcome = scanner.scan(buffer)
        let decided: RequestParseResult
        switch outcome {
        case .needMore: return .needMore
        case .tooLarge: decided = .reject(.tooLarge(.headTooLarge, "request head too large"))
        case .nul: decided = .reject(.badRequest(.badCharacter, "NUL in request head"))
        case .bareCR: decided = .reject(.badRequest(.badCharacter, "bare CR in request head"))
        case .bareLF: decided = .reject(.badRequest(.badCharacter, "bare LF in request head (CRLF required)"))
        case .complete(let end): decided = Self.interpret(buffer, end: end, maxHeaderCount: maxHeaderCount)
        }
        result = decided
        return decided
    }

    private static func interpret(_ buffer: UnsafeRawBufferPointer, end: Int, maxHeaderCount: Int) -> RequestParseResult {
        let head: MessageHead
        do {
            head = try MessageHead(buffer, range: 0..<end, maxFields: maxHeaderCount, lossyText: false)
        } catch {
            switch error {
            case .tooManyFields: return .reject(.tooLarge(.tooManyFields, error.reason))
            case .emptyStartLine: return .reject(.badRequest(.badRequestLine, error.reason))
            default: return .reject(.badRequest(error.rejectedInput, error.reason))
            }
        }
        let line: RequestLine
        do {
            line = try RequestLine(head.startLine)
        } catch {
            return .reject(.badRequest(.badRequestLine, error.reason))
        }
        switch UpgradeRequestValidator.validate(method: line.method, target: line.target, headers: head.headers) {
        case .success(let request): return .request(request, headLength: end)
        case .failure(let rejection): return .reject(rejection)
        }
    }
}
