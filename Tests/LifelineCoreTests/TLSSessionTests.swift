import Glibc
import XCTest
@testable import LifelineCore

/// TLSSession over a socket pair, both ends in this process: handshake, echo, verification
/// failures with OpenSSL's reason, and the outbound queue's TLS writer under a blocked
/// socket (retry with the same bytes; a control frame never lands inside a frame).
final class TLSSessionTests: XCTestCase {
    private var fds: [Int32] = []

    override func tearDown() {
        for fd in fds { close(fd) }
        fds = []
    }

    private func pair(client: TLSContext, sendBuffer: Int32? = nil) throws -> (TLSSession, TLSSession) {
        fds = nonBlockingSocketPair(sendBuffer: sendBuffer)
        return (TLSSession(context: client, fd: fds[0]), TLSSession(context: try TestPKI.serverContext(), fd: fds[1]))
    }

    private func readAll(_ session: TLSSession, expected: Int) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<10_000 where received.count < expected {
            let result = buffer.withUnsafeMutableBytes { session.read(into: $0.baseAddress!, capacity: $0.count) }
            switch result {
            case .complete(let count): received += buffer[0..<count]
            case .incomplete: usleep(100)
            case .closed, .failed: return received
            }
        }
        return received
    }

    private func writeAll(_ session: TLSSession, _ bytes: [UInt8]) {
        var offset = 0
        for _ in 0..<10_000 where offset < bytes.count {
            let result = bytes.withUnsafeBytes { session.write($0.baseAddress! + offset, count: bytes.count - offset) }
            if case .complete(let count) = result { offset += count }
        }
        XCTAssertEqual(offset, bytes.count)
    }

    func testHandshakeAndEcho() throws {
        let (client, server) = try pair(client: TestPKI.clientContext())
        let results = completeHandshakes(client, server)
        guard case .complete = results.client, case .complete = results.server else {
            return XCTFail("handshake: \(results)")
        }
        XCTAssertTrue(client.isEstablished && server.isEstablished)
        let hello = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        writeAll(client, hello)
        XCTAssertEqual(readAll(server, expected: hello.count), hello)
        let large = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        writeAll(server, Array(large[0..<100_000]))
        XCTAssertEqual(readAll(client, expected: 100_000), Array(large[0..<100_000]))
        client.shutdown()
        guard case .closed = server.read(into: UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 1), capacity: 16) else {
            return XCTFail("close_notify did not end the server's stream")
        }
    }

    func testIPAddressPeerIsVerifiedAgainstIPSubjectAltNames() throws {
        let context = try TLSContext.client(UpstreamTLSSettings(caFile: TestPKI.path("ca.pem")), urlHost: "127.0.0.1")
        let (client, server) = try pair(client: context)
        let results = completeHandshakes(client, server)
        guard case .complete = results.client else { return XCTFail("\(results.client)") }
    }

    func testWrongHostNameFailsWithTheReason() throws {
        let (client, server) = try pair(client: TestPKI.clientContext(serverName: "other.example"))
        guard case .failed(let failure) = completeHandshakes(client, server).client else { return XCTFail("handshake passed") }
        XCTAssertEqual(failure.reason, "certificate verify failed: hostname mismatch")
    }

    func testUntrustedCertificateFailsWithTheReason() throws {
        // The system store does not know the test CA.
        let context = try TLSContext.client(UpstreamTLSSettings(), urlHost: "localhost")
        let (client, server) = try pair(client: context)
        guard case .failed(let failure) = completeHandshakes(client, server).client else { return XCTFail("handshake passed") }
        XCTAssertEqual(failure.reason, "certificate verify failed: unable to get local issuer certificate")
    }

    func testVerifyOffAcceptsAnyCertificate() throws {
        let context = try TLSContext.client(UpstreamTLSSettings(verify: false, serverName: "other.example"), urlHost: "localhost")
        let (client, server) = try pair(client: context)
        guard case .complete = completeHandshakes(client, server).client else { return XCTFail("handshake failed") }
    }

    func testPeerThatIsNotTLSFailsTheHandshake() throws {
        fds = nonBlockingSocketPair()
        let client = TLSSession(context: try TestPKI.clientContext(), fd: fds[0])
        _ = client.handshake()
        let reply = Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8)
        _ = reply.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        guard case .failed(let failure) = client.handshake() else { return XCTFail("handshake passed") }
        XCTAssertFalse(failure.reason.isEmpty)
    }

    private func frame(_ opcode: Opcode, _ payload: [UInt8]) -> [UInt8] {
        let header = FrameHeader(fin: true, opcode: opcode, maskKey: nil, payloadLength: payload.count)
        var bytes = [UInt8](repeating: 0, count: header.encodedLength)
        _ = bytes.withUnsafeMutableBytes { header.encode(to: $0.baseAddress!) }
        return bytes + payload
    }

    /// A large frame blocks the socket mid-write; a pong queued then goes out right after
    /// that frame (never inside it, never ahead of bytes already handed to SSL_write), and
    /// many small frames after it are coalesced yet arrive in order.
    func testQueueOverTLSRetriesBlockedWritesAndKeepsFramesWhole() throws {
        let (client, server) = try pair(client: TestPKI.clientContext(), sendBuffer: 32 * 1024)
        guard case .complete = completeHandshakes(client, server).client else { return XCTFail("handshake failed") }
        var queue = OutboundQueue()
        let big = frame(.binary, (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0) })
        let small = (0..<500).map { frame(.text, Array("message \($0)".utf8)) }
        let pong = frame(.pong, [1, 2, 3])
        big.withUnsafeBytes { queue.append($0) }
        for bytes in small { bytes.withUnsafeBytes { queue.append($0) } }
        XCTAssertEqual(queue.write(to: client), .blocked)
        XCTAssertTrue(client.writeWants == IOEvents.write)
        pong.withUnsafeBytes { XCTAssertTrue(queue.enqueueControl($0)) }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let expected = big + pong + small.flatMap { $0 }
        for _ in 0..<100_000 where received.count < expected.count {
            _ = queue.write(to: client)
            let result = buffer.withUnsafeMutableBytes { server.read(into: $0.baseAddress!, capacity: $0.count) }
            if case .complete(let count) = result { received += buffer[0..<count] }
            if case .failed(let failure) = result { return XCTFail(failure.reason) }
        }
        XCTAssertEqual(queue.write(to: client), .drained)
        XCTAssertTrue(queue.isEmpty)
        XCTAssertEqual(received.count, expected.count)
        let firstDifference = zip(received, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        XCTAssertNil(firstDifference, "bytes differ from the expected order (big frame, pong, small frames) at \(firstDifference ?? -1) of \(expected.count), big frame \(big.count)")
    }
}
