import XCTest
@testable import LifelineCore

/// MessageMatcher: plain patterns as substring search, others as regular expressions.
final class ReplaceMessageMatcherTests: XCTestCase {
    func testPlainWordIsLiteral() throws {
        let matcher = try MessageMatcher(pattern: "serverShutdown")
        XCTAssertTrue(matcher.isLiteral)
        XCTAssertTrue(matcher.matches(#"{"e":"serverShutdown","t":1}"#))
        XCTAssertFalse(matcher.matches(#"{"e":"serverShutdow"}"#))
        XCTAssertFalse(matcher.matches(#"{"e":"servershutdown"}"#), "case-sensitive, as the regex is")
    }

    func testLiteralAtStartEndWholeAndAbsent() throws {
        let matcher = try MessageMatcher(pattern: "serverShutdown")
        XCTAssertTrue(matcher.matches("serverShutdown soon"))
        XCTAssertTrue(matcher.matches("soon serverShutdown"))
        XCTAssertTrue(matcher.matches("serverShutdown"))
        XCTAssertFalse(matcher.matches("serverShutdow"), "shorter than the pattern")
        XCTAssertFalse(matcher.matches(""))
        XCTAssertFalse(matcher.matches("sssserverShutdowX serverShutdoww"), "near misses after first-byte hits")
        XCTAssertTrue(matcher.matches("sserverShutdownn"))
    }

    func testRegexAlternation() throws {
        let matcher = try MessageMatcher(pattern: #""e":"(shutdown|maintenance)""#)
        XCTAssertFalse(matcher.isLiteral)
        XCTAssertTrue(matcher.matches(#"{"e":"shutdown","in":30}"#))
        XCTAssertTrue(matcher.matches(#"{"e":"maintenance"}"#))
        XCTAssertFalse(matcher.matches(#"{"e":"trade"}"#))
        XCTAssertFalse(matcher.matches(#"{"e": "shutdown"}"#))
    }

    func testRegexOverNonASCIIText() throws {
        let matcher = try MessageMatcher(pattern: "arr[eê]t")
        XCTAssertTrue(matcher.matches("«arrêt» du serveur"))
        XCTAssertFalse(matcher.matches("arrit"))
    }

    func testQuotedPunctuationStaysLiteral() throws {
        let matcher = try MessageMatcher(pattern: #"server\.shutdown\(\)"#)
        XCTAssertTrue(matcher.isLiteral)
        XCTAssertTrue(matcher.matches("call server.shutdown() now"))
        XCTAssertFalse(matcher.matches("call serverXshutdown() now"))
        XCTAssertFalse(try MessageMatcher(pattern: #"\d+"#).isLiteral, "escaped letters are classes")
        XCTAssertFalse(try MessageMatcher(pattern: #"(a)\1"#).isLiteral, "escaped digits are back-references")
        XCTAssertFalse(try MessageMatcher(pattern: "a.b").isLiteral)
    }

    func testNonASCIILiteral() throws {
        let matcher = try MessageMatcher(pattern: "arrêt")
        XCTAssertTrue(matcher.isLiteral)
        XCTAssertTrue(matcher.matches("«arrêt»"))
        XCTAssertFalse(matcher.matches("arret"))
    }

    func testInvalidPatternThrows() {
        XCTAssertThrowsError(try MessageMatcher(pattern: "(unclosed"))
        XCTAssertThrowsError(try MessageMatcher(pattern: "[z-a]"))
    }

    func testNonUTF8BytesDoNotCrash() throws {
        let bytes: [UInt8] = [0xFF, 0xFE, 0x73, 0x68, 0x75, 0x74, 0xC3, 0x28, 0x80]
        let literal = try MessageMatcher(pattern: "shut")
        XCTAssertTrue(literal.matches(bytes))
        let regex = try MessageMatcher(pattern: "s[h]ut")
        XCTAssertTrue(regex.matches(bytes))
        XCTAssertFalse(regex.matches([0xFF, 0xC0, 0x80, 0xED, 0xA0, 0x80]))
        XCTAssertFalse(literal.matches([0xFF]))
    }

    func testEmptyBuffer() throws {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        XCTAssertFalse(try MessageMatcher(pattern: "x").matches(empty))
        XCTAssertFalse(try MessageMatcher(pattern: "x+").matches(empty))
    }
}
