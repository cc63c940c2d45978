#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decides whether a regular expression (ICU syntax, as `NSRegularExpression`
/// reads it) can only ever match one fixed string, and finds that string in a
/// byte buffer. Owns the literal bytes of such a pattern; used by
/// `MessageMatcher` to keep Foundation off the relay path for plain patterns.
///
/// A pattern is literal when it has none of `\ ^ $ . | ? * + ( ) [ ] { }`,
/// except that a backslash before an ASCII character that is neither a letter
/// nor a digit (`\.`, `\"`, `\{` …) is a quoted character, as ICU reads it.
/// The search is memchr for the first byte, then memcmp for the rest (glibc's
/// two-way `memmem` is not visible from Swift); UTF-8 is self-synchronising,
/// so a byte match of valid UTF-8 text is a code-point match.
struct LiteralPattern: Equatable, Sendable {
    let bytes: [UInt8]

    /// The literal bytes `pattern` stands for, or nil when it uses regex syntax.
    init?(pattern: String) {
        var literal: [UInt8] = []
        var iterator = pattern.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "\\"):
                guard let quoted = iterator.next(), quoted < 0x80, !Self.isAlphanumeric(quoted) else { return nil }
                literal.append(quoted)
            case UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "."), UInt8(ascii: "|"),
                 UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "("),
                 UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"),
                 UInt8(ascii: "}"):
                return nil
            default:
                literal.append(byte)
            }
        }
        bytes = literal
    }

    /// True when `text` contains the literal bytes (the empty literal is everywhere).
    func occurs(in text: UnsafeRawBufferPointer) -> Bool {
        bytes.withUnsafeBytes { needle in
            let needleCount = needle.count
            guard needleCount > 0 else { return true }
            guard let haystack = text.baseAddress, text.count >= needleCount else { return false }
            let firstByte = Int32(needle[0])
            let lastStart = text.count - needleCount
            var offset = 0
            while offset <= lastStart {
                guard let found = memchr(haystack + offset, firstByte, lastStart - offset + 1) else { return false }
                let position = haystack.distance(to: UnsafeRawPointer(found))
                if memcmp(haystack + position, needle.baseAddress!, needleCount) == 0 { return true }
                offset = position + 1
            }
            return false
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
