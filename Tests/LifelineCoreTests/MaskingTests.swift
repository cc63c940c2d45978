import XCTest
@testable import LifelineCore

/// Masking against a naive byte loop for every phase, length and alignment.
final class MaskingTests: XCTestCase {
    let keyBytes: [UInt8] = [0xA5, 0x3C, 0x0F, 0xF0]

    func naive(_ bytes: [UInt8], offset: Int) -> [UInt8] {
        bytes.enumerated().map { $0.element ^ keyBytes[($0.offset + offset) % 4] }
    }

    func sample(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 73 &+ 11) }
    }

    /// `Masking.apply` in place on `length` bytes at `misalign` in a guarded buffer: the
    /// naive result, and nothing written outside the range.
    func assertApplyMatchesNaive(length: Int, offset: Int, misalign: Int, key: UInt32,
                                 file: StaticString = #filePath, line: UInt = #line) {
        let input = sample(length)
        var buffer = [UInt8](repeating: 0xCC, count: length + misalign + 2)
        buffer.replaceSubrange(misalign..<misalign + length, with: input)
        buffer.withUnsafeMutableBytes {
            Masking.apply($0.baseAddress! + misalign, count: length, key: key, offset: offset)
        }
        XCTAssertEqual(Array(buffer[misalign..<misalign + length]), naive(input, offset: offset),
                       "apply: offset \(offset) length \(length) misalign \(misalign)", file: file, line: line)
        XCTAssertEqual(buffer.prefix(misalign).filter { $0 != 0xCC }, [], "wrote before the range", file: file, line: line)
        XCTAssertEqual(Array(buffer.suffix(2)), [0xCC, 0xCC], "wrote past the range", file: file, line: line)
    }

    func testApplyMatchesNaiveForEveryOffsetLengthAndAlignment() {
        let key = maskKey(keyBytes)
        for offset in 0...7 {
            for length in 0...40 {
                for misalign in 0...3 {
                    assertApplyMatchesNaive(length: length, offset: offset, misalign: misalign, key: key)
                }
            }
        }
    }

    func testCopyMatchesNaiveForEveryOffsetAndLength() {
        let key = maskKey(keyBytes)
        for offset in 0...7 {
            for length in 0...40 {
                let input = sample(length)
                var output = [UInt8](repeating: 0xCC, count: length + 1)
                input.withUnsafeBytes { src in
                    output.withUnsafeMutableBytes { dst in
                        Masking.copy(from: src.baseAddress ?? UnsafeRawPointer(dst.baseAddress!),
                                     to: dst.baseAddress!, count: length, key: key, offset: offset)
                    }
                }
                XCTAssertEqual(Array(output.prefix(length)), naive(input, offset: offset), "offset \(offset) length \(length)")
                XCTAssertEqual(output.last, 0xCC)
            }
        }
    }

    func testMaskingTwiceRestoresAndSplitsAgreeWithWhole() {
        let key = maskKey(keyBytes)
        let input = sample(1000)
        for split in [0, 1, 3, 7, 8, 13, 500, 999, 1000] {
            var buffer = input
            buffer.withUnsafeMutableBytes {
                Masking.apply($0.baseAddress!, count: split, key: key, offset: 0)
                Masking.apply($0.baseAddress! + split, count: 1000 - split, key: key, offset: split)
            }
            XCTAssertEqual(buffer, naive(input, offset: 0), "split \(split)")
            buffer.withUnsafeMutableBytes { Masking.apply($0.baseAddress!, count: 1000, key: key, offset: 0) }
            XCTAssertEqual(buffer, input)
        }
    }

    func testApplyAndCopyMatchNaiveAcrossTheVectorSteps() {
        let key = maskKey(keyBytes)
        for length in [127, 128, 129, 143, 144, 255, 256, 300, 1024, 1031] {
            for offset in 0...3 {
                for misalign in 0...3 {
                    assertApplyMatchesNaive(length: length, offset: offset, misalign: misalign, key: key)
                    let input = sample(length)
                    var output = [UInt8](repeating: 0xCC, count: length + misalign + 1)
                    input.withUnsafeBytes { src in
                        output.withUnsafeMutableBytes { dst in
                            Masking.copy(from: src.baseAddress!, to: dst.baseAddress! + misalign, count: length, key: key, offset: offset)
                        }
                    }
                    XCTAssertEqual(Array(output[misalign..<misalign + length]), naive(input, offset: offset),
                                   "copy: offset \(offset) length \(length) misalign \(misalign)")
                    XCTAssertEqual(output.last, 0xCC)
                }
            }
        }
    }
}
