import XCTest
@testable import LifelineCore

/// Incremental UTF-8 validation: chunk splitting, fail-fast position, classic invalid inputs.
final class UTF8ValidatorTests: XCTestCase {
    /// Validates the whole input in one chunk; true only if valid and complete.
    func isValid(_ bytes: [UInt8]) -> Bool {
        var v = UTF8Validator()
        return bytes.withUnsafeBytes { v.validate($0) } && v.isAtCodePointBoundary
    }

    /// Feeds one byte at a time; returns the index of the byte that failed, or nil.
    func failIndex(_ bytes: [UInt8]) -> Int? {
        var v = UTF8Validator()
        for (i, byte) in bytes.enumerated() {
            let ok = [byte].withUnsafeBytes { v.validate($0) }
            if !ok { return i }
        }
        return nil
    }

    let multiByteText = Array("aé€😀 κόσμε \u{7F}\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFD}\u{FFFF}\u{10000}\u{10FFFF} plain ASCII run".utf8)

    func testValidTextSplitAtEveryPosition() {
        for split in 0...multiByteText.count {
            var v = UTF8Validator()
            XCTAssertTrue(multiByteText[..<split].withUnsafeBytes { v.validate($0) }, "split \(split)")
            XCTAssertTrue(multiByteText[split...].withUnsafeBytes { v.validate($0) }, "split \(split)")
            XCTAssertTrue(v.isAtCodePointBoundary, "split \(split)")
        }
    }

    func testValidTextOneByteAtATimeTracksBoundary() {
        var v = UTF8Validator()
        for byte in multiByteText {
            XCTAssertTrue([byte].withUnsafeBytes { v.validate($0) })
        }
        XCTAssertTrue(v.isAtCodePointBoundary)
        var open = UTF8Validator()
        XCTAssertTrue(([0xF0, 0x9F, 0x98] as [UInt8]).withUnsafeBytes { open.validate($0) })
        XCTAssertFalse(open.isAtCodePointBoundary)
        XCTAssertTrue(([0x80] as [UInt8]).withUnsafeBytes { open.validate($0) })
        XCTAssertTrue(open.isAtCodePointBoundary)
    }

    func testClassicInvalidSequencesFailAtTheProvingByte() {
        let cases: [([UInt8], Int, String)] = [
            ([0xC0, 0x80], 0, "overlong NUL, C0 never valid"),
            ([0xC1, 0xBF], 0, "overlong, C1 never valid"),
            ([0xE0, 0x80, 0x80], 1, "overlong 3-byte"),
            ([0xE0, 0x9F, 0xBF], 1, "overlong 3-byte upper"),
            ([0xF0, 0x80, 0x80, 0x80], 1, "overlong 4-byte"),
            ([0xF0, 0x8F, 0xBF, 0xBF], 1, "overlong 4-byte upper"),
            ([0xED, 0xA0, 0x80], 1, "surrogate D800"),
            ([0xED, 0xBF, 0xBF], 1, "surrogate DFFF"),
            ([0xF4, 0x90, 0x80, 0x80], 1, "above U+10FFFF"),
            ([0xF5, 0x80, 0x80, 0x80], 0, "F5 lead"),
            ([0x80], 0, "lone continuation"),
            ([0x41, 0xBF], 1, "continuation after ASCII"),
            ([0xC3, 0x41], 1, "missing continuation"),
            ([0xE2, 0x82, 0x41], 2, "missing second continuation"),
            ([0xFE], 0, "FE"),
            ([0xFF], 0, "FF"),
        ]
        for (bytes, index, name) in cases {
            XCTAssertEqual(failIndex(bytes), index, name)
            XCTAssertFalse(isValid(bytes), name)
        }
    }

    func testKosmeThenSurrogateFailsAtSecondSurrogateByte() {
        // Autobahn's "κόσμε" (with U+1F79 GREEK SMALL LETTER OMICRON WITH OXIA): 11 bytes.
        let kosme: [UInt8] = [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5]
        XCTAssertEqual(String(decoding: kosme, as: UTF8.self), "\u{3BA}\u{1F79}\u{3C3}\u{3BC}\u{3B5}")
        XCTAssertEqual(failIndex(kosme + [0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64]), 12)
        // Same when the chunk is handed over whole: it fails, and stays failed.
        var v = UTF8Validator()
        XCTAssertFalse((kosme + [0xED, 0xA0, 0x80]).withUnsafeBytes { v.validate($0) })
        XCTAssertFalse(([0x41] as [UInt8]).withUnsafeBytes { v.validate($0) })
        XCTAssertFalse(v.isAtCodePointBoundary)
        v.reset()
        XCTAssertTrue(kosme.withUnsafeBytes { v.validate($0) })
    }

    func testTruncatedSequenceIsNotAtBoundary() {
        for truncated: [UInt8] in [[0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], Array("abc".utf8) + [0xE2]] {
            var v = UTF8Validator()
            XCTAssertTrue(truncated.withUnsafeBytes { v.validate($0) })
            XCTAssertFalse(v.isAtCodePointBoundary)
        }
    }

    func testASCIIFastPathFindsBadByteAtEveryPosition() {
        for position in 0..<40 {
            var bytes = [UInt8](repeating: 0x61, count: 40)
            bytes[position] = 0xFF
            XCTAssertFalse(isValid(bytes), "position \(position)")
            bytes[position] = 0x7F
            XCTAssertTrue(isValid(bytes), "position \(position)")
        }
        XCTAssertTrue(isValid([]))
    }

    /// Agrees with the standard library's validation on pseudo-random input.
    func testAgreesWithStandardLibraryOnRandomInput() {
        var rng = SplitMix64(seed: 0x5EED)
        let alphabet: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        for _ in 0..<20_000 {
            let length = Int(rng.next() % 12)
            let bytes = (0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            XCTAssertEqual(isValid(bytes), expected, "\(bytes.map { String($0, radix: 16) })")
        }
    }
}

/// Deterministic generator for reproducible randomised tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
