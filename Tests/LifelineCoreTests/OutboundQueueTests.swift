import Glibc
import XCTest
@testable import LifelineCore

/// The outbound queue over a real socket pair: order, frame boundaries, and the
/// control lane that must pass queued data but never split a frame.
final class OutboundQueueTests: XCTestCase {
    private var fds: [Int32] = [-1, -1]

    override func setUp() {
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
    }

    override func tearDown() {
        close(fds[0]); close(fds[1])
    }

    private func frame(_ opcode: Opcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        let header = FrameHeader(fin: fin, opcode: opcode, maskKey: nil, payloadLength: payload.count)
        var bytes = [UInt8](repeating: 0, count: header.encodedLength)
        _ = bytes.withUnsafeMutableBytes { header.encode(to: $0.baseAddress!) }
        return bytes + payload
    }

    /// Writes and reads the other end in turn until the queue is empty (at most 10,000
    /// rounds); everything received.
    private func writeAndReadUntilEmpty(_ queue: inout OutboundQueue) -> [UInt8] {
        var received: [UInt8] = []
        for _ in 0..<10_000 where !queue.isEmpty {
            received += readAll()
            _ = queue.write(to: fds[0])
        }
        return received + readAll()
    }

    private func readAll() -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fds[1], $0.baseAddress, $0.count) }
            if count <= 0 { break }
            result += chunk[0..<count]
        }
        return result
    }

    func testDataIsWrittenInOrder() {
        var queue = OutboundQueue()
        let first = frame(.text, Array("hello".utf8)), second = frame(.binary, [1, 2, 3])
        first.withUnsafeBytes { queue.append($0) }
        second.withUnsafeBytes { queue.append($0) }
        XCTAssertEqual(queue.queuedBytes, first.count + second.count)
        XCTAssertEqual(queue.write(to: fds[0]), .drained)
        XCTAssertEqual(readAll(), first + second)
        XCTAssertTrue(queue.isEmpty)
    }

    func testControlFrameGoesAheadOfQueuedFrames() {
        var queue = OutboundQueue()
        let data = frame(.binary, [UInt8](repeating: 7, count: 1000))
        let pong = frame(.pong, [9, 9])
        data.withUnsafeBytes { queue.append($0) }
        pong.withUnsafeBytes { XCTAssertTrue(queue.enqueueControl($0)) }
        XCTAssertEqual(queue.write(to: fds[0]), .drained)
        XCTAssertEqual(readAll(), pong + data)
    }

    func testAFullLaneStillAnswersTheNewestPing() {
        var queue = OutboundQueue()
        let pongs = (0..<10).map { frame(.pong, [UInt8](repeating: UInt8($0), count: 125)) } // 127 bytes each
        for pong in pongs { pong.withUnsafeBytes { queue.enqueuePong($0) } }
        XCTAssertEqual(queue.write(to: fds[0]), .drained)
        // The lane holds 4 (524 bytes); of the 6 that did not fit, only the newest is kept.
        XCTAssertEqual(readAll(), pongs[0] + pongs[1] + pongs[2] + pongs[3] + pongs[9])
        XCTAssertTrue(queue.isEmpty)
        pongs[5].withUnsafeBytes { queue.enqueuePong($0) }
        XCTAssertEqual(queue.write(to: fds[0]), .drained)
        XCTAssertEqual(readAll(), pongs[5], "the lane works as before once drained")
    }

    func testControlFrameWaitsForTheEndOfAnIncompleteFrame() {
        var queue = OutboundQueue()
        let whole = frame(.binary, [UInt8](repeating: 5, count: 300))
        whole[0..<200].withUnsafeBytes { queue.append($0) } // header + part of the payload
        XCTAssertEqual(queue.write(to: fds[0]), .drained)
        XCTAssertEqual(readAll(), Array(whole[0..<200]))
        let pong = frame(.pong, [])
        pong.withUnsafeBytes { _ = queue.enqueueControl($0) }
        XCTAssertEqual(queue.write(to: fds[0]), .drained, "mid-frame: the pong is held back")
        XCTAssertEqual(readAll(), [])
        XCTAssertFalse(queue.isEmpty)
        let next = frame(.text, Array("after".utf8))
        whole[200...].withUnsafeBytes { queue.append($0) }
        next.withUnsafeBytes { queue.append($0) }
        XCTAssertEqual(queue.write(to: fds[0]), .drained)
        XCTAssertEqual(readAll(), Array(whole[200...]) + pong + next, "the pong follows the frame's last byte")
    }

    func testControlFrameAtABoundaryGoesFirst() {
        var queue = OutboundQueue()
        let partial = frame(.binary, [UInt8](repeating: 5, count: 300))[0..<100]
        partial.withUnsafeBytes { queue.append($0) }
        let pong = frame(.pong, [])
        pong.withUnsafeBytes { _ = queue.enqueueControl($0) }
        XCTAssertEqual(queue.write(to: fds[0]), .drained)
        XCTAssertEqual(readAll(), pong + Array(partial), "nothing of the frame had left: the head was a boundary")
    }

    func testControlFramePassesBacklogAfterABlockedWrite() {
        var queue = OutboundQueue()
        var sent: [UInt8] = []
        // Queue far more than the socket pair can hold.
        for index in 0..<400 {
            let data = frame(.binary, [UInt8](repeating: UInt8(index % 251), count: 4000))
            data.withUnsafeBytes { queue.append($0) }
            sent += data
        }
        XCTAssertEqual(queue.write(to: fds[0]), .blocked)
        let pong = frame(.pong, [1, 2, 3, 4])
        pong.withUnsafeBytes { _ = queue.enqueueControl($0) }
        let received = writeAndReadUntilEmpty(&queue)
        XCTAssertTrue(queue.isEmpty)
        XCTAssertEqual(received.count, sent.count + pong.count)
        // Walk the received stream frame by frame: the pong must sit at a boundary,
        // before the last frame (it passed the backlog), and the data must be intact.
        var offset = 0, pongIndex: Int?, frames = 0, data: [UInt8] = []
        while offset < received.count {
            let length = received.withUnsafeBytes { FrameWire.totalLength(at: $0.baseAddress! + offset) }
            if received[offset] & 0x0F == Opcode.pong.rawValue {
                pongIndex = frames
                XCTAssertEqual(Array(received[offset..<offset + length]), pong)
            } else {
                data += received[offset..<offset + length]
            }
            frames += 1
            offset += length
        }
        XCTAssertEqual(offset, received.count)
        XCTAssertEqual(data, sent)
        XCTAssertNotNil(pongIndex)
        XCTAssertLessThan(pongIndex ?? .max, 399, "the pong went out ahead of the queued backlog")
    }

    func testOpaqueBytesAreOneUnit() {
        var queue = OutboundQueue()
        let response = Array("HTTP/1.1 101 Switching Protocols\r\n\r\n".utf8)
        queue.appendOpaque(response)
        let pong = frame(.pong, [])
        pong.withUnsafeBytes { _ = queue.enqueueControl($0) }
        let data = frame(.text, Array("hi".utf8))
        data.withUnsafeBytes { queue.append($0) }
        XCTAssertEqual(queue.write(to: fds[0]), .drained)
        XCTAssertEqual(readAll(), response + pong + data, "the HTTP head is one unit: a frame may not precede the 101")
    }

    func testFrameWireLengths() {
        for length in [0, 1, 125, 126, 65535, 65536, 100_000] {
            for masked in [false, true] {
                let header = FrameHeader(fin: true, opcode: .binary, maskKey: masked ? 0x01020304 : nil, payloadLength: length)
                var bytes = [UInt8](repeating: 0, count: 14)
                _ = bytes.withUnsafeMutableBytes { header.encode(to: $0.baseAddress!) }
                XCTAssertEqual(bytes.withUnsafeBytes { FrameWire.totalLength(at: $0.baseAddress!) }, header.encodedLength + length)
            }
        }
    }

    // MARK: borrowed bytes (frames relayed straight from the read buffer)

    func testBorrowedFramesGoOutInOrderWithWhatIsStored() {
        var queue = OutboundQueue()
        let a = frame(.text, Array("first".utf8)), b = frame(.binary, [1, 2]), c = frame(.text, Array("third".utf8))
        let source = a + c
        source.withUnsafeBytes { raw in
            queue.appendBorrowed(UnsafeRawBufferPointer(rebasing: raw[0..<a.count]))
            XCTAssertEqual(queue.queuedBytes, a.count, "borrowed bytes count as queued")
            b.withUnsafeBytes { queue.append($0) } // stored after borrowed: the borrowed bytes are copied first
            queue.appendBorrowed(UnsafeRawBufferPointer(rebasing: raw[a.count...])) // after stored bytes: copied too
            queue.settleBorrowed()
        }
        XCTAssertEqual(queue.queuedBytes, a.count + b.count + c.count)
        XCTAssertEqual(queue.write(to: fds[0]), .drained)
        XCTAssertEqual(readAll(), a + b + c)
        XCTAssertTrue(queue.isEmpty)
    }

    func testContiguousBorrowedBytesLeaveInOneWrite() {
        var queue = OutboundQueue()
        let frames = (0..<4).map { frame(.text, [UInt8](repeating: UInt8(65 + $0), count: 1024)) }
        let source = frames.reduce([], +)
        source.withUnsafeBytes { raw in
            var offset = 0
            for f in frames {
                queue.appendBorrowed(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 2])) // header
                queue.appendBorrowed(UnsafeRawBufferPointer(rebasing: raw[offset + 2..<offset + f.count]))
                offset += f.count
            }
            XCTAssertEqual(queue.write(to: fds[0]), .drained)
            queue.settleBorrowed()
        }
        XCTAssertEqual(readAll(), source)
        XCTAssertTrue(queue.isEmpty)
    }

    func testUnsentBorrowedBytesAreCopiedBeforeTheBufferIsReused() {
        var queue = OutboundQueue()
        // Far more than the socket pair takes, so the write blocks part-way.
        var source: [UInt8] = []
        for index in 0..<400 { source += frame(.binary, [UInt8](repeating: UInt8(index % 251), count: 4000)) }
        let expected = source
        source.withUnsafeMutableBytes { raw in
            queue.appendBorrowed(UnsafeRawBufferPointer(raw))
            XCTAssertEqual(queue.write(to: fds[0]), .blocked)
            queue.settleBorrowed()
            raw.initializeMemory(as: UInt8.self, repeating: 0xEE) // the read buffer is reused
        }
        let pong = frame(.pong, [7])
        pong.withUnsafeBytes { _ = queue.enqueueControl($0) }
        let received = writeAndReadUntilEmpty(&queue)
        XCTAssertTrue(queue.isEmpty)
        // The pong went at a frame boundary; without it the stream is the original bytes.
        var offset = 0, data: [UInt8] = [], pongs = 0
        while offset < received.count {
            let length = received.withUnsafeBytes { FrameWire.totalLength(at: $0.baseAddress! + offset) }
            if received[offset] & 0x0F == Opcode.pong.rawValue { pongs += 1 } else { data += received[offset..<offset + length] }
            offset += length
        }
        XCTAssertEqual(pongs, 1)
        XCTAssertEqual(data.count, expected.count)
        XCTAssertTrue(data == expected, "no byte of the reused buffer leaked into the stream")
    }

    func testControlFrameWaitsForTheEndOfABorrowedFrame() {
        var queue = OutboundQueue()
        let whole = frame(.binary, [UInt8](repeating: 5, count: 300))
        let pong = frame(.pong, [])
        whole.withUnsafeBytes { raw in
            queue.appendBorrowed(UnsafeRawBufferPointer(rebasing: raw[0..<200]))
            XCTAssertEqual(queue.write(to: fds[0]), .drained)
            queue.settleBorrowed()
        }
        pong.withUnsafeBytes { _ = queue.enqueueControl($0) }
        XCTAssertEqual(queue.write(to: fds[0]), .drained, "mid-frame: the pong is held back")
        XCTAssertEqual(readAll(), Array(whole[0..<200]))
        whole.withUnsafeBytes { raw in
            queue.appendBorrowed(UnsafeRawBufferPointer(rebasing: raw[200...]))
            XCTAssertEqual(queue.write(to: fds[0]), .drained)
            queue.settleBorrowed()
        }
        XCTAssertEqual(readAll(), Array(whole[200...]) + pong, "the pong follows the frame's last byte")
        XCTAssertTrue(queue.isEmpty)
    }
}
