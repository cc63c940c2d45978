import XCTest
@testable import LifelineCore

// Shared test fixtures for the WebSocket codec tests: a naive frame builder that
// does not use the codec, a decoder driver that simulates the relay's read
// buffer, and a normalised event type that can be compared across splittings.

/// How a test frame writes its payload length.
enum LengthForm {
    case minimal
    case force16
    case force64
    /// Write exactly this 64-bit length (for the top-bit rule).
    case raw64(UInt64)
}

/// Builds a frame byte by byte without the codec, so tests check it independently.
func wireFrame(fin: Bool = true, rsv: UInt8 = 0, opcode: UInt8, mask: [UInt8]? = nil,
               payload: [UInt8] = [], length: LengthForm = .minimal) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    let maskBit: UInt8 = mask == nil ? 0 : 0x80
    let n = payload.count
    func be(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) }
    }
    switch length {
    case .minimal where n <= 125:
        out.append(maskBit | UInt8(n))
    case .minimal where n <= 0xFFFF, .force16:
        out.append(maskBit | 126); out += be(UInt64(n), bytes: 2)
    case .minimal, .force64:
        out.append(maskBit | 127); out += be(UInt64(n), bytes: 8)
    case let .raw64(value):
        out.append(maskBit | 127); out += be(value, bytes: 8)
    }
    if let mask = mask {
        out += mask
        out += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    } else {
        out += payload
    }
    return out
}

/// The `UInt32` mask key convention: wire bytes loaded in host order.
func maskKey(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
}

let testMask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

/// A decoder event with its bytes copied out, comparable in assertions.
enum Event: Equatable {
    case header(FrameHeader)
    case payload([UInt8], frameEnd: Bool, messageEnd: Bool)
    case control(FrameHeader, [UInt8])
    case failure(UInt16)
}

/// Drives a `FrameDecoder` the way the relay does: appends each read to a
/// pending buffer, calls `next` until `.needMore`, drops `consumed` bytes.
final class DecoderDriver {
    var decoder: FrameDecoder
    var pending: [UInt8] = []
    var events: [Event] = []
    var currentPayloadLength = 0
    var violations: [String] = []

    init(role: FrameRole, maxMessageBytes: Int = 1 << 24) {
        decoder = FrameDecoder(role: role, maxMessageBytes: maxMessageBytes)
    }

    func feed<C: Collection>(_ chunk: C) where C.Element == UInt8 {
        pending.append(contentsOf: chunk)
        while true {
            var stop = false
            let consumed: Int = pending.withUnsafeMutableBytes { buffer in
                let (event, consumed) = decoder.next(buffer)
                switch event {
                case .needMore:
                    if consumed != 0 { violations.append("needMore consumed \(consumed)") }
                    stop = true
                case let .dataHeader(header):
                    currentPayloadLength = header.payloadLength
                    events.append(.header(header))
                case let .dataPayload(chunk, frameEnd, messageEnd):
                    if chunk.isEmpty && !(frameEnd && currentPayloadLength == 0) {
                        violations.append("empty chunk")
                    }
                    if chunk.count != consumed { violations.append("payload consumed mismatch") }
                    events.append(.payload(Array(chunk), frameEnd: frameEnd, messageEnd: messageEnd))
                case let .control(header, payload):
                    events.append(.control(header, Array(payload)))
                case let .failure(code, _):
                    if consumed != 0 { violations.append("failure consumed \(consumed)") }
                    events.append(.failure(code.rawValue))
                    stop = true
                }
                return consumed
            }
            pending.removeFirst(consumed)
            if stop { return }
        }
    }

    /// Events with each frame's payload chunks merged, so splittings compare equal.
    var normalized: [Event] {
        var out: [Event] = []
        for event in events {
            if case let .payload(bytes, frameEnd, messageEnd) = event,
               case let .payload(previous, false, _)? = out.last {
                out[out.count - 1] = .payload(previous + bytes, frameEnd: frameEnd, messageEnd: messageEnd)
            } else {
                out.append(event)
            }
        }
        return out
    }

    var lastFailure: UInt16? {
        if case let .failure(code)? = events.last { return code }
        return nil
    }
}

/// Decodes `bytes` fed in one piece and returns the normalised events.
func decodeAll(_ bytes: [UInt8], role: FrameRole = .server, maxMessageBytes: Int = 1 << 24) -> [Event] {
    let driver = DecoderDriver(role: role, maxMessageBytes: maxMessageBytes)
    driver.feed(bytes)
    XCTAssertEqual(driver.violations, [])
    return driver.normalized
}

/// Checks the fixtures themselves against RFC 6455 §5.7's example frames.
final class FrameTestSupportTests: XCTestCase {
    func testWireFrameMatchesRFCExamples() {
        XCTAssertEqual(wireFrame(opcode: 1, payload: Array("Hello".utf8)),
                       [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        XCTAssertEqual(wireFrame(opcode: 1, mask: testMask, payload: Array("Hello".utf8)),
                       [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        XCTAssertEqual(Array(wireFrame(opcode: 2, payload: [UInt8](repeating: 0, count: 256)).prefix(4)),
                       [0x82, 0x7E, 0x01, 0x00])
        XCTAssertEqual(Array(wireFrame(opcode: 2, payload: [UInt8](repeating: 0, count: 65536)).prefix(10)),
                       [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
    }
}
