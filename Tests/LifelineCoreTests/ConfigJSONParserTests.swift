import XCTest
@testable import LifelineCore

/// The strict JSON reader behind the configuration (order-preserving, numbers kept as written).
final class ConfigJSONParserTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    private func syntaxError(_ text: String) -> String? {
        do { _ = try parse(text); return nil } catch let error as JSONParser.SyntaxError { return error.description } catch { return "\(error)" }
    }

    func testValuesAndOrder() throws {
        let value = try parse(#" {"b": [1, 2.50, -3e2, true, false, null], "a": "x\u00e9\ud83d\ude00\n"} "#)
        guard case .object(let members) = value else { return XCTFail("not an object") }
        XCTAssertEqual(members.map(\.key), ["b", "a"])
        XCTAssertEqual(value["a"], .string("xé😀\n"))
        guard case .array(let items)? = value["b"], case .number(let number, let text) = items[1] else { return XCTFail() }
        XCTAssertEqual(number, 2.5)
        XCTAssertEqual(text, "2.50")
        XCTAssertEqual(items[2], .number(-300))
        XCTAssertEqual(JSONWriter.compact(value), #"{"b":[1,2.50,-3e2,true,false,null],"a":"xé😀\n"}"#)
    }

    func testSyntaxErrors() {
        XCTAssertEqual(syntaxError(""), "invalid JSON at line 1, column 1: unexpected end of input")
        XCTAssertEqual(syntaxError("01"), "invalid JSON at line 1, column 2: unexpected text after the JSON value")
        XCTAssertEqual(syntaxError("[1,]"), "invalid JSON at line 1, column 4: unexpected character")
        XCTAssertEqual(syntaxError("{\"a\" 1}"), "invalid JSON at line 1, column 6: expected ':' after a key")
        XCTAssertEqual(syntaxError("\"abc"), "invalid JSON at line 1, column 5: unterminated string")
        XCTAssertEqual(syntaxError("\"\\ud800\""), "invalid JSON at line 1, column 8: unpaired surrogate in \\u escape")
        XCTAssertEqual(syntaxError("\"a\tb\""), "invalid JSON at line 1, column 3: control character in a string (escape it)")
        XCTAssertEqual(syntaxError("tru"), "invalid JSON at line 1, column 4: invalid literal, expected true")
        XCTAssertEqual(syntaxError("1."), "invalid JSON at line 1, column 3: expected a digit after '.'")
        XCTAssertEqual(syntaxError(String(repeating: "[", count: 65)), "invalid JSON at line 1, column 65: nesting deeper than 64 levels")
        XCTAssertNil(syntaxError("\u{FEFF}{}"))
    }

    func testInvalidUTF8IsRejected() {
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]))
    }
}
