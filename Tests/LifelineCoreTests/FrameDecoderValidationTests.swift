import XCTest
@testable import LifelineCore

/// Every decoder validation rule with its exact close code, decided from the
/// header alone (before any payload bytes are present).
final class FrameDecoderValidationTests: XCTestCase {
    /// Feeds `bytes` and expects a failure with `code` once they are all in.
    func assertFails(_ bytes: [UInt8], role: FrameRole = .server, maxMessageBytes: Int = 1 << 20,
                     code: CloseCode, file: StaticString = #filePath, line: UInt = #line) {
        let driver = DecoderDriver(role: role, maxMessageBytes: maxMessageBytes)
        driver.feed(bytes)
        XCTAssertEqual(driver.lastFailure, code.rawValue, "\(driver.normalized)", file: file, line: line)
        XCTAssertEqual(driver.violations, [], file: file, line: line)
    }

    /// Header-only prefixes of a frame: the failure needs no payload bytes.
    func headerOnly(_ frame: [UInt8], headerLength: Int) -> [UInt8] { Array(frame.prefix(headerLength)) }

    func testRSVBitsFailWithFirstByte() {
        for rsv: UInt8 in [1, 2, 4, 7] {
            assertFails([(0x80 | rsv << 4) | 0x1], code: .protocolError)
            assertFails(wireFrame(rsv: rsv, opcode: 2, mask: testMask, payload: [1]), code: .protocolError)
        }
    }

    func testReservedOpcodesFail() {
        for opcode: UInt8 in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assertFails([0x80 | opcode], code: .protocolError)
        }
    }

    func testFragmentedControlFrameFails() {
        for opcode: UInt8 in [0x8, 0x9, 0xA] {
            assertFails([opcode], code: .protocolError)
        }
    }

    func testControlPayloadOver125Fails() {
        assertFails([0x89, 0x80 | 126], code: .protocolError)
        assertFails([0x8A, 0x80 | 127], code: .protocolError)
        // 125 is fine.
        let events = decodeAll(wireFrame(opcode: 9, mask: testMask, payload: [UInt8](repeating: 7, count: 125)))
        XCTAssertEqual(events.count, 1)
    }

    func testServerRejectsUnmaskedFrame() {
        assertFails([0x81, 0x05], role: .server, code: .protocolError)
        assertFails([0x89, 0x00], role: .server, code: .protocolError)
    }

    func testClientRejectsMaskedFrame() {
        assertFails([0x81, 0x85], role: .client, code: .protocolError)
        assertFails([0x8A, 0x80], role: .client, code: .protocolError)
    }

    func testContinuationWithoutMessageFails() {
        assertFails(headerOnly(wireFrame(opcode: 0, mask: testMask, payload: [1, 2]), headerLength: 6), code: .protocolError)
        // Also after a complete message.
        assertFails(wireFrame(opcode: 2, mask: testMask, payload: [1]) + wireFrame(fin: false, opcode: 0, mask: testMask),
                    code: .protocolError)
    }

    func testNewDataFrameInsideFragmentedMessageFails() {
        let first = wireFrame(fin: false, opcode: 1, mask: testMask, payload: Array("ab".utf8))
        assertFails(first + headerOnly(wireFrame(opcode: 1, mask: testMask, payload: [0x61]), headerLength: 6),
                    code: .protocolError)
        assertFails(first + headerOnly(wireFrame(opcode: 2, mask: testMask, payload: [1]), headerLength: 6),
                    code: .protocolError)
    }

    func testSixtyFourBitLengthWithTopBitFails() {
        let frame = wireFrame(opcode: 2, mask: testMask, length: .raw64(1 << 63))
        assertFails(Array(frame.prefix(10)), maxMessageBytes: Int.max, code: .protocolError)
        assertFails(Array(wireFrame(opcode: 2, length: .raw64(UInt64.max)).prefix(10)), role: .client,
                    maxMessageBytes: Int.max, code: .protocolError)
    }

    func testSingleFrameOverLimitFailsWithTooBigFromHeaderAlone() {
        let frame = wireFrame(opcode: 2, mask: testMask, payload: [UInt8](repeating: 0, count: 11))
        assertFails(headerOnly(frame, headerLength: 6), maxMessageBytes: 10, code: .messageTooBig)
        let huge = wireFrame(opcode: 2, mask: testMask, length: .raw64(1 << 62))
        assertFails(huge, maxMessageBytes: 1 << 20, code: .messageTooBig)
        // Exactly at the limit is fine.
        let driver = DecoderDriver(role: .server, maxMessageBytes: 10)
        driver.feed(wireFrame(opcode: 2, mask: testMask, payload: [UInt8](repeating: 0, count: 10)))
        XCTAssertNil(driver.lastFailure)
    }

    func testCumulativeFragmentSizeOverLimitFails() {
        let six = wireFrame(fin: false, opcode: 2, mask: testMask, payload: [UInt8](repeating: 1, count: 6))
        let four = wireFrame(fin: false, opcode: 0, mask: testMask, payload: [UInt8](repeating: 2, count: 4))
        let one = wireFrame(opcode: 0, mask: testMask, payload: [3])
        assertFails(six + four + headerOnly(one, headerLength: 6), maxMessageBytes: 10, code: .messageTooBig)
        // The count restarts with each message.
        let driver = DecoderDriver(role: .server, maxMessageBytes: 10)
        driver.feed(six + wireFrame(opcode: 0, mask: testMask, payload: [UInt8](repeating: 2, count: 4)) + six)
        XCTAssertNil(driver.lastFailure)
        XCTAssertTrue(driver.decoder.isInsideFragmentedMessage)
    }

    func testInvalidUTF8InTextFails1007() {
        assertFails(wireFrame(opcode: 1, mask: testMask, payload: [0x61, 0xC0, 0x80]), code: .invalidPayload)
        // Across fragments: the bad byte is in the continuation.
        assertFails(wireFrame(fin: false, opcode: 1, mask: testMask, payload: [0xED]) +
                    wireFrame(opcode: 0, mask: testMask, payload: [0xA0, 0x80]), code: .invalidPayload)
        // Binary messages are not checked.
        XCTAssertNil({ let d = DecoderDriver(role: .server); d.feed(wireFrame(opcode: 2, mask: testMask, payload: [0xFF])); return d.lastFailure }())
    }

    func testTextEndingInsideCodePointFails1007() {
        assertFails(wireFrame(opcode: 1, mask: testMask, payload: [0x61, 0xE2, 0x82]), code: .invalidPayload)
        assertFails(wireFrame(fin: false, opcode: 1, mask: testMask, payload: [0xE2]) +
                    wireFrame(opcode: 0, mask: testMask, payload: [0x82]), code: .invalidPayload)
        // A code point split across fragments is fine.
        let driver = DecoderDriver(role: .server)
        driver.feed(wireFrame(fin: false, opcode: 1, mask: testMask, payload: [0xE2]) +
                    wireFrame(fin: false, opcode: 0, mask: testMask, payload: [0x82]) +
                    wireFrame(opcode: 0, mask: testMask, payload: [0xAC]))
        XCTAssertNil(driver.lastFailure)
        XCTAssertEqual(driver.normalized.last, .payload([0xAC], frameEnd: true, messageEnd: true))
    }

    func testTextFailsAtTheFirstBadByteWhenFedByteByByte() {
        // "κόσμε" + ED A0 80 + "edited", as Autobahn 6.4.*: fail at A0, before the frame is complete.
        let kosme: [UInt8] = [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5]
        let frame = wireFrame(opcode: 1, mask: testMask, payload: kosme + [0xED, 0xA0, 0x80] + Array("edited".utf8))
        let driver = DecoderDriver(role: .server)
        var failedAt: Int?
        for (i, byte) in frame.enumerated() {
            driver.feed([byte])
            if driver.lastFailure != nil { failedAt = i; break }
        }
        XCTAssertEqual(driver.lastFailure, CloseCode.invalidPayload.rawValue)
        XCTAssertEqual(failedAt, 6 + 12)
    }

    func testFailureIsStickyAndConsumesNothing() {
        var decoder = FrameDecoder(role: .server, maxMessageBytes: 100)
        var bytes: [UInt8] = [0xF1, 0x80] + wireFrame(opcode: 2, mask: testMask, payload: [1])
        for _ in 0..<3 {
            let (event, consumed) = bytes.withUnsafeMutableBytes { decoder.next($0) }
            XCTAssertEqual(consumed, 0)
            guard case let .failure(code, reason) = event else { return XCTFail("\(event)") }
            XCTAssertEqual(code, .protocolError)
            XCTAssertFalse(reason.description.isEmpty)
        }
        bytes = wireFrame(opcode: 2, mask: testMask, payload: [1])
        let (event, _) = bytes.withUnsafeMutableBytes { decoder.next($0) }
        guard case .failure = event else { return XCTFail("\(event)") }
    }
}
