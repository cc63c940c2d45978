import XCTest
@testable import LifelineCore

final class VersionTests: XCTestCase {
    func testVersionIsSemantic() {
        XCTAssertEqual(LifelineVersion.string.split(separator: ".").count, 3)
    }
}
