import XCTest
@testable import LifelineCore

/// A multi-frame stream (fragments, interleaved control frames, split code
/// points, empty frames, every length encoding) decoded whole, split at every
/// byte boundary, one byte at a time and in random pieces: same events every time.
final class FrameDecoderStreamTests: XCTestCase {
    let binary300 = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
    let binary10: [UInt8] = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    let keys: [[UInt8]] = [[0x37, 0xFA, 0x21, 0x3D], [1, 2, 3, 4], [0xFF, 0, 0x80, 0x7F]]

    /// The stream, masked with rotating keys when `masked`.
    func stream(masked: Bool) -> [UInt8] {
        var n = 0
        func mask() -> [UInt8]? {
            defer { n += 1 }
            return masked ? keys[n % keys.count] : nil
        }
        let close: [UInt8] = [0x03, 0xE8] + Array("bye".utf8)
        return wireFrame(fin: false, opcode: 1, mask: mask(), payload: Array("Hel".utf8) + [0xCE])
            + wireFrame(opcode: 9, mask: mask(), payload: Array("p1".utf8))
            + wireFrame(opcode: 0xA, mask: mask())
            + wireFrame(fin: false, opcode: 0, mask: mask(), payload: [0xBA] + Array("σμε".utf8))
            + wireFrame(opcode: 0, mask: mask())
            + wireFrame(opcode: 2, mask: mask(), payload: binary300)
            + wireFrame(opcode: 1, mask: mask())
            + wireFrame(opcode: 2, mask: mask(), payload: binary10, length: .force64)
            + wireFrame(opcode: 8, mask: mask(), payload: close)
    }

    func expected(masked: Bool) -> [Event] {
        var n = 0
        func key() -> UInt32? {
            defer { n += 1 }
            return masked ? maskKey(keys[n % keys.count]) : nil
        }
        func header(_ fin: Bool, _ opcode: Opcode, _ length: Int) -> FrameHeader {
            FrameHeader(fin: fin, opcode: opcode, maskKey: key(), payloadLength: length)
        }
        return [
            .header(header(false, .text, 4)),
            .payload(Array("Hel".utf8) + [0xCE], frameEnd: true, messageEnd: false),
            .control(header(true, .ping, 2), Array("p1".utf8)),
            .control(header(true, .pong, 0), []),
            .header(header(false, .continuation, 7)),
            .payload([0xBA] + Array("σμε".utf8), frameEnd: true, messageEnd: false),
            .header(header(true, .continuation, 0)),
            .payload([], frameEnd: true, messageEnd: true),
            .header(header(true, .binary, 300)),
            .payload(binary300, frameEnd: true, messageEnd: true),
            .header(header(true, .text, 0)),
            .payload([], frameEnd: true, messageEnd: true),
            .header(header(true, .binary, 10)),
            .payload(binary10, frameEnd: true, messageEnd: true),
            .control(header(true, .close, 5), [0x03, 0xE8] + Array("bye".utf8)),
        ]
    }

    func decode(_ bytes: [UInt8], role: FrameRole, pieces: [Int],
                file: StaticString = #filePath, line: UInt = #line) -> [Event] {
        let driver = DecoderDriver(role: role)
        var start = 0
        for end in pieces + [bytes.count] where end >= start {
            driver.feed(bytes[start..<end])
            start = end
        }
        XCTAssertEqual(driver.violations, [], file: file, line: line)
        XCTAssertEqual(driver.pending, [], file: file, line: line)
        return driver.normalized
    }

    func testWholeStreamInOneBuffer() {
        for masked in [true, false] {
            XCTAssertEqual(decode(stream(masked: masked), role: masked ? .server : .client, pieces: []),
                           expected(masked: masked))
        }
    }

    func testSplitAtEveryByteBoundary() {
        for masked in [true, false] {
            let bytes = stream(masked: masked)
            let want = expected(masked: masked)
            for split in 0...bytes.count {
                XCTAssertEqual(decode(bytes, role: masked ? .server : .client, pieces: [split]), want, "split \(split)")
            }
        }
    }

    func testOneByteAtATime() {
        for masked in [true, false] {
            let bytes = stream(masked: masked)
            XCTAssertEqual(decode(bytes, role: masked ? .server : .client, pieces: Array(0..<bytes.count)),
                           expected(masked: masked))
        }
    }

    func testRandomPieces() {
        var rng = SplitMix64(seed: 42)
        let bytes = stream(masked: true)
        for _ in 0..<300 {
            let cuts = (0..<Int(rng.next() % 20)).map { _ in Int(rng.next() % UInt64(bytes.count + 1)) }.sorted()
            XCTAssertEqual(decode(bytes, role: .server, pieces: cuts), expected(masked: true), "\(cuts)")
        }
    }

    func testManyFramesInOneBuffer() {
        var bytes: [UInt8] = []
        for i in 0..<1000 {
            bytes += wireFrame(opcode: i % 7 == 0 ? 9 : 2, mask: [UInt8(i & 0xFF), 1, 2, 3],
                               payload: [UInt8](repeating: UInt8(i & 0xFF), count: i % 40))
        }
        let events = decode(bytes, role: .server, pieces: [])
        XCTAssertEqual(events.count, (0..<1000).reduce(0) { $0 + ($1 % 7 == 0 ? 1 : 2) })
        var i = 0
        for event in events {
            switch event {
            case let .control(header, payload):
                XCTAssertEqual(header.opcode, .ping)
                XCTAssertEqual(payload, [UInt8](repeating: UInt8(i & 0xFF), count: i % 40)); i += 1
            case let .payload(payload, true, true):
                XCTAssertEqual(payload, [UInt8](repeating: UInt8(i & 0xFF), count: i % 40)); i += 1
            case .header: break
            default: XCTFail("\(event)")
            }
        }
        XCTAssertEqual(i, 1000)
    }

    /// Payload chunks and control payloads point into the caller's buffer (no copies).
    func testPayloadIsUnmaskedInPlaceInCallersBuffer() {
        var bytes = wireFrame(opcode: 2, mask: testMask, payload: [1, 2, 3, 4, 5])
            + wireFrame(opcode: 9, mask: testMask, payload: [6, 7])
        var decoder = FrameDecoder(role: .server, maxMessageBytes: 100)
        bytes.withUnsafeMutableBytes { buffer in
            var at = 0
            var (event, consumed) = decoder.next(UnsafeMutableRawBufferPointer(rebasing: buffer[at...]))
            XCTAssertEqual(consumed, 6); at += consumed
            guard case .dataHeader = event else { return XCTFail("\(event)") }
            (event, consumed) = decoder.next(UnsafeMutableRawBufferPointer(rebasing: buffer[at...]))
            guard case let .dataPayload(chunk, true, true) = event else { return XCTFail("\(event)") }
            XCTAssertEqual(chunk.baseAddress, buffer.baseAddress! + 6)
            XCTAssertEqual(consumed, 5); at += consumed
            (event, consumed) = decoder.next(UnsafeMutableRawBufferPointer(rebasing: buffer[at...]))
            guard case let .control(header, payload) = event else { return XCTFail("\(event)") }
            XCTAssertEqual(header.opcode, .ping)
            XCTAssertEqual(payload.baseAddress, buffer.baseAddress! + 11 + 6)
            XCTAssertEqual(consumed, 8)
        }
        XCTAssertEqual(Array(bytes[6..<11]), [1, 2, 3, 4, 5])
        XCTAssertEqual(Array(bytes[17...]), [6, 7])
    }

    func testControlFrameWaitsUntilWholeWithoutConsuming() {
        let frame = wireFrame(opcode: 9, mask: testMask, payload: Array("ping!".utf8))
        var decoder = FrameDecoder(role: .server, maxMessageBytes: 100)
        for length in 0..<frame.count {
            var prefix = Array(frame.prefix(length))
            let (event, consumed) = prefix.withUnsafeMutableBytes { decoder.next($0) }
            guard case .needMore = event else { return XCTFail("\(event) at \(length)") }
            XCTAssertEqual(consumed, 0)
            XCTAssertEqual(prefix, Array(frame.prefix(length)), "bytes must stay untouched")
        }
    }

    func testIsInsideFragmentedMessage() {
        let driver = DecoderDriver(role: .server)
        XCTAssertFalse(driver.decoder.isInsideFragmentedMessage)
        driver.feed(wireFrame(opcode: 2, mask: testMask, payload: [1]))
        XCTAssertFalse(driver.decoder.isInsideFragmentedMessage)
        driver.feed(wireFrame(fin: false, opcode: 2, mask: testMask, payload: [1]))
        XCTAssertTrue(driver.decoder.isInsideFragmentedMessage)
        driver.feed(wireFrame(opcode: 9, mask: testMask))
        XCTAssertTrue(driver.decoder.isInsideFragmentedMessage)
        driver.feed(Array(wireFrame(opcode: 0, mask: testMask, payload: [2, 3]).prefix(7)))
        XCTAssertTrue(driver.decoder.isInsideFragmentedMessage)
        driver.feed([0x03 ^ testMask[1]])
        XCTAssertFalse(driver.decoder.isInsideFragmentedMessage)
        XCTAssertEqual(driver.normalized.last, .payload([2, 3], frameEnd: true, messageEnd: true))
    }
}
