/// Decodes a `Transfer-Encoding: chunked` body (RFC 9112 §7.1) from a growing buffer, resuming
/// where it stopped so total work stays linear. Chunk extensions and trailer fields are skipped.
/// Decoded data over `maxBodyBytes`, or trailers over `maxTrailerBytes`, is an error.
struct ChunkedBodyDecoder {
    /// Where decoding stands after consuming the bytes available so far.
    enum Progress: Equatable {
        case needMore
        /// The body is complete; the message ended at this absolute offset.
        case done(end: Int)
        case invalid(String)
    }

    /// The grammar position of the next byte.
    private enum State {
        case size(digits: Int)
        case extensionText
        case sizeLF
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerLine
        case trailerLF(last: Bool)
    }

    let maxBodyBytes: Int
    let maxTrailerBytes: Int
    private(set) var body: [UInt8] = []
    private var position: Int
    private var chunkSize = 0
    private var trailerBytes = 0
    private var state = State.size(digits: 0)

    init(start: Int, maxBodyBytes: Int, maxTrailerBytes: Int) {
        position = start
        self.maxBodyBytes = maxBodyBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    mutating func decode(_ buf: UnsafeRawBufferPointer) -> Progress {
        while position < buf.count {
            let b = buf[position]
            switch state {
            case .size(let digits):
                if let v = Self.hex(b) {
                    guard digits < 15 else { return .invalid("chunk size too long") }
                    chunkSize = chunkSize << 4 | v
                    state = .size(digits: digits + 1)
                } else if digits > 0 && b == HTTPSyntax.cr {
                    state = .sizeLF
                } else if digits > 0 && (b == UInt8(ascii: ";") || HTTPSyntax.isWhitespace(b)) {
                    state = .extensionText
                } else {
                    return .invalid("bad chunk size")
                }
            case .extensionText:
                if b == HTTPSyntax.cr { state = .sizeLF }
                else if !HTTPSyntax.isFieldValueByte(b) { return .invalid("bad chunk extension") }
            case .sizeLF:
                guard b == HTTPSyntax.lf else { return .invalid("bad chunk line ending") }
                if chunkSize == 0 {
                    state = .trailerLineStart
                } else {
                    guard body.count + chunkSize <= maxBodyBytes else { return .invalid("response body too large") }
                    state = .data(remaining: chunkSize)
                }
                chunkSize = 0
            case .data(let remaining):
                let take = min(remaining, buf.count - position)
                body.append(contentsOf: buf[position..<position + take])
                position += take
                state = remaining == take ? .dataCR : .data(remaining: remaining - take)
                continue
            case .dataCR:
                guard b == HTTPSyntax.cr else { return .invalid("chunk data not followed by CRLF") }
                state = .dataLF
            case .dataLF:
                guard b == HTTPSyntax.lf else { return .invalid("chunk data not followed by CRLF") }
                state = .size(digits: 0)
            case .trailerLineStart:
                state = b == HTTPSyntax.cr ? .trailerLF(last: true) : .trailerLine
            case .trailerLine:
                if b == HTTPSyntax.cr { state = .trailerLF(last: false) }
                else if b == HTTPSyntax.lf || b == 0 { return .invalid("bad trailer") }
            case .trailerLF(let last):
                guard b == HTTPSyntax.lf else { return .invalid("bad trailer line ending") }
                if last {
                    position += 1
                    return .done(end: position)
                }
                state = .trailerLineStart
            }
            if case .trailerLine = state {
                trailerBytes += 1
                guard trailerBytes <= maxTrailerBytes else { return .invalid("trailers too large") }
            }
            position += 1
        }
        return .needMore
    }

    private static func hex(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
