import XCTest
@testable import LifelineCore

/// Close codes, close payload parsing/encoding, close frame validation in the
/// decoder, and the control frame encoder.
final class WebSocketCloseTests: XCTestCase {
    func closeFrame(_ payload: [UInt8]) -> [UInt8] { wireFrame(opcode: 8, mask: testMask, payload: payload) }
    func code(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    func testNamedCodes() {
        XCTAssertEqual([CloseCode.normal, .goingAway, .protocolError, .unsupportedData, .noStatus, .abnormal,
                        .invalidPayload, .policyViolation, .messageTooBig, .mandatoryExtension, .internalError].map(\.rawValue),
                       [1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011])
    }

    func testIsValidOnWire() {
        for valid: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
            XCTAssertTrue(CloseCode.isValidOnWire(valid), "\(valid)")
        }
        for invalid: UInt16 in [0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2000, 2999, 5000, 65535] {
            XCTAssertFalse(CloseCode.isValidOnWire(invalid), "\(invalid)")
        }
    }

    func testDecoderAcceptsValidClosePayloads() {
        for value: UInt16 in [1000, 1003, 1007, 1011, 3000, 4999] {
            let payload = code(value) + Array("reason ✓".utf8)
            XCTAssertEqual(decodeAll(closeFrame(payload)), [
                .control(FrameHeader(fin: true, opcode: .close, maskKey: maskKey(testMask), payloadLength: payload.count), payload),
            ], "\(value)")
        }
        XCTAssertEqual(decodeAll(closeFrame([])).count, 1, "empty close")
        XCTAssertEqual(decodeAll(closeFrame(code(1000))).count, 1, "code only")
    }

    func testDecoderRejectsOneByteClosePayload() {
        XCTAssertEqual(decodeAll(closeFrame([0x03])), [.failure(1002)])
    }

    func testDecoderRejectsCodesNotValidOnWire() {
        for value: UInt16 in [0, 999, 1004, 1005, 1006, 1016, 2999, 5000] {
            XCTAssertEqual(decodeAll(closeFrame(code(value))), [.failure(1002)], "\(value)")
        }
    }

    func testDecoderRejectsInvalidUTF8Reason() {
        XCTAssertEqual(decodeAll(closeFrame(code(1000) + [0x61, 0xED, 0xA0, 0x80])), [.failure(1007)])
        XCTAssertEqual(decodeAll(closeFrame(code(1000) + [0xCE])), [.failure(1007)], "truncated code point")
    }

    func testParse() {
        let payload: [UInt8] = code(4001) + Array("hi".utf8)
        payload.withUnsafeBytes { raw in
            let (code, reason) = ClosePayload.parse(raw)
            XCTAssertEqual(code, 4001)
            XCTAssertEqual(Array(reason), Array("hi".utf8))
            XCTAssertEqual(reason.baseAddress, raw.baseAddress! + 2)
        }
        [UInt8]().withUnsafeBytes { raw in
            let (code, reason) = ClosePayload.parse(raw)
            XCTAssertNil(code)
            XCTAssertEqual(reason.count, 0)
        }
    }

    func encodeClose(_ code: CloseCode, _ reason: String) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 125)
        let n = out.withUnsafeMutableBytes { ClosePayload.encode(code: code, reason: reason, to: $0.baseAddress!) }
        return Array(out.prefix(n))
    }

    func testEncodeWritesCodeAndReason() {
        XCTAssertEqual(encodeClose(.goingAway, "bye"), [0x03, 0xE9, 0x62, 0x79, 0x65])
        XCTAssertEqual(encodeClose(.normal, ""), [0x03, 0xE8])
        var out = [UInt8](repeating: 0, count: 125)
        let n = out.withUnsafeMutableBytes { ClosePayload.encode(code: .messageTooBig, reason: "too big", to: $0.baseAddress!) }
        XCTAssertEqual(Array(out.prefix(n)), [0x03, 0xF1] + Array("too big".utf8))
    }

    func testEncodeTruncatesReasonOnUTF8Boundary() {
        XCTAssertEqual(encodeClose(.normal, String(repeating: "a", count: 200)).count, 125)
        let twoByte = encodeClose(.normal, String(repeating: "é", count: 100))      // 200 bytes
        XCTAssertEqual(twoByte.count, 2 + 122)
        XCTAssertNotNil(String(validating: twoByte.dropFirst(2), as: UTF8.self))
        let fourByte = encodeClose(.normal, "ab" + String(repeating: "😀", count: 40)) // 2 + 160 bytes
        XCTAssertEqual(fourByte.count, 2 + 2 + 120)
        XCTAssertNotNil(String(validating: fourByte.dropFirst(2), as: UTF8.self))
    }

    func controlFrame(_ opcode: Opcode, _ payload: [UInt8], _ key: UInt32?) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ControlFrame.maxEncodedLength)
        let n = payload.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { ControlFrame.encode(opcode: opcode, payload: src, maskKey: key, to: $0.baseAddress!) }
        }
        return Array(out.prefix(n))
    }

    func testControlFrameEncodeExactBytes() {
        let hello = Array("Hello".utf8)
        XCTAssertEqual(controlFrame(.ping, hello, nil), [0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        XCTAssertEqual(controlFrame(.pong, hello, maskKey(testMask)),
                       [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        XCTAssertEqual(controlFrame(.ping, [], nil), [0x89, 0x00])
        let big = [UInt8](repeating: 0x5A, count: 125)
        XCTAssertEqual(controlFrame(.ping, big, maskKey(testMask)), wireFrame(opcode: 9, mask: testMask, payload: big))
        XCTAssertEqual(controlFrame(.ping, big, maskKey(testMask)).count, ControlFrame.maxEncodedLength)
    }

    func testEncodeCloseFrameRoundTripsThroughDecoder() {
        var out = [UInt8](repeating: 0, count: ControlFrame.maxEncodedLength)
        let n = out.withUnsafeMutableBytes {
            ControlFrame.encodeClose(code: .policyViolation, reason: "idle", maskKey: maskKey(testMask), to: $0.baseAddress!)
        }
        let frame = Array(out.prefix(n))
        let payload = code(1008) + Array("idle".utf8)
        XCTAssertEqual(frame, wireFrame(opcode: 8, mask: testMask, payload: payload))
        XCTAssertEqual(decodeAll(frame), [
            .control(FrameHeader(fin: true, opcode: .close, maskKey: maskKey(testMask), payloadLength: 6), payload),
        ])
    }
}
