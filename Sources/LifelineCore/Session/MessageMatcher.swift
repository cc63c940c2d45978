import Foundation

/// A compiled `rotate_on_match` / `replay.match` pattern (spec §2), tested
/// against the UTF-8 payload of a text message. Owns the compiled form.
///
/// Patterns without regular-expression syntax (see `LiteralPattern`) are
/// matched as a plain substring of the bytes: memchr/memcmp, no Foundation, no
/// allocation, safe on the relay path. Other patterns go through
/// `NSRegularExpression` (unanchored search, default options) over the text
/// decoded as UTF-8, which allocates; bytes that are not valid UTF-8 (never the
/// case for a validated text message) are decoded with U+FFFD replacements.
/// Immutable after `init`, so shared across threads as-is.
public final class MessageMatcher: @unchecked Sendable {
    /// The pattern as configured.
    public let pattern: String
    private let literal: LiteralPattern?
    private let regex: NSRegularExpression?

    /// Throws when `pattern` is not a valid regular expression (config
    /// validation has normally rejected it already).
    public init(pattern: String) throws {
        self.pattern = pattern
        if let literal = LiteralPattern(pattern: pattern) {
            self.literal = literal
            regex = nil
        } else {
            literal = nil
            regex = try NSRegularExpression(pattern: pattern)
        }
    }

    /// True when the pattern matches somewhere in `text` (UTF-8 bytes).
    public func matches(_ text: UnsafeRawBufferPointer) -> Bool {
        if let literal { return literal.occurs(in: text) }
        guard let regex else { return false }
        let string = String(decoding: text, as: UTF8.self)
        let range = NSRange(location: 0, length: string.utf16.count)
        return regex.firstMatch(in: string, options: [], range: range) != nil
    }

    /// True when matching is a plain substring search (no Foundation).
    public var isLiteral: Bool { literal != nil }
}
