import XCTest
@testable import LifelineCore

/// Header encoding (exact bytes) and encode → decode round trips.
final class FrameHeaderTests: XCTestCase {
    static let roundTripLengths = [0, 1, 125, 126, 127, 65535, 65536, 100_000]

    func encode(_ header: FrameHeader) -> [UInt8] {
        var out = [UInt8](repeating: 0xEE, count: 14)
        let n = out.withUnsafeMutableBytes { header.encode(to: $0.baseAddress!) }
        XCTAssertEqual(n, header.encodedLength)
        return Array(out.prefix(n))
    }

    func testEncodedLengthBoundaries() {
        let cases: [(Int, Bool, Int)] = [
            (0, false, 2), (125, false, 2), (126, false, 4), (65535, false, 4), (65536, false, 10),
            (0, true, 6), (125, true, 6), (126, true, 8), (65535, true, 8), (65536, true, 14), (Int.max, true, 14),
        ]
        for (length, masked, expected) in cases {
            XCTAssertEqual(FrameHeader.encodedLength(payloadLength: length, masked: masked), expected, "\(length) \(masked)")
        }
    }

    func testEncodeExactBytes() {
        XCTAssertEqual(encode(FrameHeader(fin: true, opcode: .text, maskKey: nil, payloadLength: 5)), [0x81, 0x05])
        XCTAssertEqual(encode(FrameHeader(fin: false, opcode: .binary, maskKey: nil, payloadLength: 0)), [0x02, 0x00])
        XCTAssertEqual(encode(FrameHeader(fin: true, opcode: .continuation, maskKey: nil, payloadLength: 126)),
                       [0x80, 0x7E, 0x00, 0x7E])
        XCTAssertEqual(encode(FrameHeader(fin: true, opcode: .binary, maskKey: nil, payloadLength: 65536)),
                       [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
        XCTAssertEqual(encode(FrameHeader(fin: true, opcode: .pong, maskKey: maskKey(testMask), payloadLength: 5)),
                       [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D])
        XCTAssertEqual(encode(FrameHeader(fin: true, opcode: .binary, maskKey: maskKey([1, 2, 3, 4]), payloadLength: 100_000)),
                       [0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x86, 0xA0, 1, 2, 3, 4])
    }

    func testOpcodeIsControl() {
        XCTAssertEqual([Opcode.continuation, .text, .binary, .close, .ping, .pong].map(\.isControl),
                       [false, false, false, true, true, true])
    }

    /// Encodes header + payload with the codec, checks the bytes against the
    /// naive builder, then decodes and checks the header and payload come back.
    func roundTrip(length: Int, masked: Bool, file: StaticString = #filePath, line: UInt = #line) {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let key: UInt32? = masked ? maskKey(testMask) : nil
        let header = FrameHeader(fin: true, opcode: .binary, maskKey: key, payloadLength: length)
        var wire = [UInt8](repeating: 0, count: header.encodedLength + length)
        wire.withUnsafeMutableBytes { out in
            let h = header.encode(to: out.baseAddress!)
            payload.withUnsafeBytes { src in
                if let key = key {
                    Masking.copy(from: src.baseAddress!, to: out.baseAddress! + h, count: length, key: key, offset: 0)
                } else if length > 0 {
                    (out.baseAddress! + h).copyMemory(from: src.baseAddress!, byteCount: length)
                }
            }
        }
        XCTAssertEqual(wire, wireFrame(opcode: 2, mask: masked ? testMask : nil, payload: payload), file: file, line: line)
        let events = decodeAll(wire, role: masked ? .server : .client)
        XCTAssertEqual(events, [.header(header), .payload(payload, frameEnd: true, messageEnd: true)], file: file, line: line)
    }

    func testRoundTripUnmasked() {
        for length in Self.roundTripLengths { roundTrip(length: length, masked: false) }
    }

    func testRoundTripMasked() {
        for length in Self.roundTripLengths { roundTrip(length: length, masked: true) }
    }

    func testNonMinimalLengthEncodingsAreAccepted() {
        let payload: [UInt8] = Array("abc".utf8)
        for form in [LengthForm.force16, .force64] {
            let events = decodeAll(wireFrame(opcode: 1, mask: testMask, payload: payload, length: form))
            XCTAssertEqual(events, [
                .header(FrameHeader(fin: true, opcode: .text, maskKey: maskKey(testMask), payloadLength: 3)),
                .payload(payload, frameEnd: true, messageEnd: true),
            ])
        }
    }
}
