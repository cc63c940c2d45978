import Foundation
import Glibc
import Synchronization
import XCTest
@testable import LifelineCore

// Shared fixtures for the admin server tests: the server on its own loop thread, a
// blocking client socket, and a record of the requests the handler saw.

/// Carries a loop-confined object into the loop's thread closure.
final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// An `AdminServer` on 127.0.0.1, port 0, running on a private `EventLoop` on a background
/// thread. `stop()` posts `server.stop(); loop.stop()` and joins the thread.
final class AdminServerHarness {
    /// A handler that also gets the admin loop (to answer later through `loop.post`).
    typealias Handler = (AdminRequest, EventLoop, @escaping (AdminResponse) -> Void) -> Void

    let loop = EventLoop(useDefaultLoop: false, readBufferCapacity: 64 * 1024)
    let server: AdminServer
    let requests = RequestLog()
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init(idleTimeout: Double = 30, handler: @escaping Handler) throws {
        let loop = self.loop, requests = self.requests
        server = try AdminServer(address: SocketAddress(literalHost: "127.0.0.1", port: 0)!, loop: loop,
                                 idleTimeout: idleTimeout) { request, respond in
            requests.append(request)
            handler(request, loop, respond)
        }
        let box = UncheckedBox(loop), finished = self.finished
        Thread {
            box.value.run()
            finished.signal()
        }.start()
    }

    var port: Int { server.boundAddress.port }

    func client() throws -> AdminTestClient { try AdminTestClient(port: port) }

    func stop() {
        guard !stopped else { return }
        stopped = true
        let server = self.server, loop = self.loop
        loop.post {
            server.stop()
            loop.stop()
        }
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success, "the admin loop did not stop")
    }

    deinit { stop() }
}

/// Requests the handler saw, appended on the loop thread and read by the test.
final class RequestLog: Sendable {
    private let entries = Mutex<[AdminRequest]>([])
    func append(_ request: AdminRequest) { entries.withLock { $0.append(request) } }
    var all: [AdminRequest] { entries.withLock { $0 } }
}

/// A blocking TCP client with a 5 s receive timeout that reads whole HTTP responses.
final class AdminTestClient {
    let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let address = SocketAddress(literalHost: "127.0.0.1", port: port)!
        let result = address.withSockaddr { connect(fd, $0, $1) }
        guard result == 0 else { close(fd); throw SocketError(operation: "connect", code: errno) }
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            offset += count
        }
    }

    /// One response: the head, then Content-Length bytes of body unless `bodyExpected` is false.
    /// Nil on EOF or timeout before it is complete.
    func readResponse(bodyExpected: Bool = true) -> String? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while true {
            if headEnd == nil, let range = pending.firstRange(of: terminator) { headEnd = range.upperBound }
            if let end = headEnd {
                let head = String(decoding: pending[..<end], as: UTF8.self)
                let total = end + (bodyExpected ? Self.contentLength(head) : 0)
                if pending.count >= total {
                    defer { pending.removeFirst(total) }
                    return String(decoding: pending[..<total], as: UTF8.self)
                }
            }
            guard receive() else { return nil }
        }
    }

    /// Everything until the server closes (or the timeout passes, then nil).
    func readToEnd() -> String? {
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            if count < 0 { return nil }
            pending += chunk[..<count]
        }
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    private func receive() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        pending += chunk[..<count]
        return true
    }

    private static func contentLength(_ head: String) -> Int {
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            return Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}
