import XCTest
@testable import LifelineCore

/// MessageHasher: chunking never changes the hash; bytes and length do.
final class ReplaceMessageHasherTests: XCTestCase {
    private let message: [UInt8] = (0..<10_240).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ ($0 >> 8)) }

    private func hash(_ bytes: [UInt8], splits: [Int]) -> (UInt64, Int) {
        var hasher = MessageHasher()
        var start = 0
        bytes.withUnsafeBytes { buffer in
            for end in splits + [bytes.count] {
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
                start = end
            }
        }
        return (hasher.finalize(), hasher.length)
    }

    func testEverySingleSplitGivesTheSameHash() {
        let whole = replaceHash(message)
        for split in 0...message.count {
            let (split, length) = hash(message, splits: [split])
            XCTAssertEqual(split, whole)
            XCTAssertEqual(length, message.count)
        }
    }

    func testRandomMultiSplitsAndByteAtATimeGiveTheSameHash() {
        let whole = replaceHash(message)
        var random = ReplaceRandom(seed: 3)
        for _ in 0..<300 {
            let cuts = (0..<Int.random(in: 1...40, using: &random)).map { _ in
                Int.random(in: 0...message.count, using: &random)
            }
            XCTAssertEqual(hash(message, splits: cuts.sorted()).0, whole)
        }
        XCTAssertEqual(hash(message, splits: Array(1..<message.count)).0, whole)
        XCTAssertEqual(hash(message, splits: Array(repeating: 0, count: 5)).0, whole, "empty chunks")
    }

    func testOneByteChangeChangesTheHash() {
        let whole = replaceHash(message)
        var seen: Set<UInt64> = [whole]
        for index in stride(from: 0, to: message.count, by: 37) {
            for flip: UInt8 in [0x01, 0x80] {
                var changed = message
                changed[index] ^= flip
                XCTAssertNotEqual(replaceHash(changed), whole, "byte \(index)")
                seen.insert(replaceHash(changed))
            }
        }
        XCTAssertEqual(seen.count, 1 + 2 * ((message.count + 36) / 37), "no collisions among the variants")
    }

    func testLengthIsPartOfTheHash() {
        XCTAssertNotEqual(replaceHash([]), replaceHash([0]))
        XCTAssertNotEqual(replaceHash([0]), replaceHash([0, 0]))
        XCTAssertNotEqual(replaceHash([UInt8](repeating: 0, count: 8)), replaceHash([UInt8](repeating: 0, count: 16)))
        XCTAssertNotEqual(replaceHash([1, 0, 0, 0, 0, 0, 0, 0]), replaceHash([1]))
        XCTAssertEqual(MessageHasher().length, 0)
        XCTAssertEqual(MessageHasher().finalize(), replaceHash([]))
    }

    func testSequenceMessagesAllDiffer() {
        let hashes = Set((1...100_000).map { replaceHash(replaceSeq($0)) })
        XCTAssertEqual(hashes.count, 100_000)
    }
}
