/// A complete message head cut into its start line and header fields. Input is a range that
/// `HeadScanner` already approved, so every line ends in CRLF and holds no CR, LF or NUL.
struct MessageHead {
    /// Why the head's fields are malformed.
    enum Failure: Error, Equatable {
        case tooManyFields
        case obsFold
        case missingColon
        case invalidName
        case whitespaceBeforeColon
        case invalidValue
        case notUTF8
        case emptyStartLine
    }

    /// The first line, without its CRLF.
    var startLine: [UInt8]
    var headers: [HTTPHeader]

    /// - Parameter lossyText: decode non-UTF-8 values with replacement characters instead of failing.
    init(_ buf: UnsafeRawBufferPointer, range: Range<Int>, maxFields: Int, lossyText: Bool) throws(Failure) {
        var lines: [Range<Int>] = []
        var lineStart = range.lowerBound
        var i = range.lowerBound
        while i + 1 < range.upperBound {
            if buf[i] == HTTPSyntax.cr {   // always followed by LF here
                if i == lineStart && !lines.isEmpty { break }   // the empty line that ends the head
                lines.append(lineStart..<i)
                i += 2
                lineStart = i
            } else {
                i += 1
            }
        }
        guard let first = lines.first, !first.isEmpty else { throw Failure.emptyStartLine }
        startLine = Array(buf[first])
        let fieldLines = lines.dropFirst()
        if fieldLines.count > maxFields { throw Failure.tooManyFields }
        headers = []
        headers.reserveCapacity(fieldLines.count)
        for line in fieldLines {
            headers.append(try Self.field(buf, line, lossyText: lossyText))
        }
    }

    private static func field(_ buf: UnsafeRawBufferPointer, _ line: Range<Int>, lossyText: Bool) throws(Failure) -> HTTPHeader {
        if HTTPSyntax.isWhitespace(buf[line.lowerBound]) { throw Failure.obsFold }
        guard let colon = line.first(where: { buf[$0] == HTTPSyntax.colon }) else { throw Failure.missingColon }
        if colon == line.lowerBound { throw Failure.invalidName }
        if HTTPSyntax.isWhitespace(buf[colon - 1]) { throw Failure.whitespaceBeforeColon }
        let nameBytes = buf[line.lowerBound..<colon]
        guard HTTPSyntax.isToken(nameBytes) else { throw Failure.invalidName }
        var lo = colon + 1, hi = line.upperBound
        while lo < hi && HTTPSyntax.isWhitespace(buf[lo]) { lo += 1 }
        while hi > lo && HTTPSyntax.isWhitespace(buf[hi - 1]) { hi -= 1 }
        let valueBytes = buf[lo..<hi]
        guard valueBytes.allSatisfy(HTTPSyntax.isFieldValueByte) else { throw Failure.invalidValue }
        let value: String
        if lossyText {
            value = String(decoding: valueBytes, as: UTF8.self)
        } else {
            guard let v = String(validating: valueBytes, as: UTF8.self) else { throw Failure.notUTF8 }
            value = v
        }
        return HTTPHeader(name: String(decoding: nameBytes, as: UTF8.self), value: value)
    }
}

extension MessageHead.Failure {
    /// Short human reason for logs and 400 bodies.
    var reason: String {
        switch self {
        case .tooManyFields: return "too many header fields"
        case .obsFold: return "obsolete line folding in header"
        case .missingColon: return "header line without colon"
        case .invalidName: return "invalid header name"
        case .whitespaceBeforeColon: return "whitespace before colon in header"
        case .invalidValue: return "invalid character in header value"
        case .notUTF8: return "header value is not UTF-8"
        case .emptyStartLine: return "empty start line"
        }
    }
}
