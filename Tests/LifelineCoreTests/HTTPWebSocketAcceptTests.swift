import XCTest
@testable import LifelineCore

final class HTTPWebSocketAcceptTests: XCTestCase {
    func testRFC6455ExampleKey() {
        XCTAssertEqual(WebSocketAccept.compute(key: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    func testMakeKeyIsBase64Of16RandomBytes() {
        let a = WebSocketAccept.makeKey(), b = WebSocketAccept.makeKey()
        XCTAssertEqual(a.utf8.count, 24)
        XCTAssertEqual(Base64.decode(a)?.count, 16)
        XCTAssertNotEqual(a, b)
    }

    func testBase64RFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8))
        }
        XCTAssertEqual(Base64.encode([0xFB, 0xFF]), "+/8=")
        XCTAssertEqual(Base64.decode("+/8="), [0xFB, 0xFF])
    }

    func testBase64RejectsMalformed() {
        for bad in ["Zg=", "Z===", "Zg=a", "Zm9v Yg==", "Zg==Zg==", "Zm9*"] {
            XCTAssertNil(Base64.decode(bad), bad)
        }
    }
}
