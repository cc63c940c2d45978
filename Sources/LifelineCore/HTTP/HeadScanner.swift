/// Finds the end of a message head (CRLF CRLF) in a growing buffer, remembering how far it
/// already looked so repeated calls cost linear time overall. Also enforces the byte-level rules
/// of the head: no NUL, no bare CR, no bare LF (LF-only line endings are refused, see below),
/// and a size cap.
///
/// Line endings: RFC 9112 §2.2 lets a recipient accept a lone LF as a line terminator, but proxies
/// that disagree about line ends are how request smuggling happens, and every WebSocket client
/// sends CRLF. So a LF not preceded by CR is an error, like a CR not followed by LF.
struct HeadScanner {
    /// What one scan found.
    enum Outcome: Equatable {
        case needMore
        /// The head ends (terminator included) at this absolute offset.
        case complete(end: Int)
        case tooLarge
        case nul
        case bareCR
        case bareLF
    }

    /// Bytes from `limitBase` that may hold heads before the scan gives up.
    let maxHeadBytes: Int
    /// Where the size cap is counted from (0: interim 1xx heads count towards the cap too).
    private let limitBase: Int
    /// Where the current head starts.
    private(set) var start: Int
    /// The next absolute offset to examine.
    private var scanned: Int

    init(maxHeadBytes: Int, start: Int = 0) {
        self.maxHeadBytes = maxHeadBytes
        self.limitBase = start
        self.start = start
        self.scanned = start
    }

    /// Begins looking for another head right after a previous one (interim responses).
    mutating func restart(at offset: Int) {
        start = offset
        scanned = offset
    }

    mutating func scan(_ buf: UnsafeRawBufferPointer) -> Outcome {
        let limit = min(buf.count, limitBase + maxHeadBytes)
        var i = scanned
        defer { scanned = i }
        while i < limit {
            let b = buf[i]
            if b == 0 { return .nul }
            if b == HTTPSyntax.cr {
                if i + 1 >= buf.count { return .needMore }   // wait for the byte after the CR
                if buf[i + 1] != HTTPSyntax.lf { return .bareCR }
            } else if b == HTTPSyntax.lf {
                if i == start || buf[i - 1] != HTTPSyntax.cr { return .bareLF }
                if i - start >= 3 && buf[i - 2] == HTTPSyntax.lf {   // buf[i-3] is then CR, checked earlier
                    i += 1
                    return .complete(end: i)
                }
            }
            i += 1
        }
        return i >= limitBase + maxHeadBytes ? .tooLarge : .needMore
    }
}
