import Glibc

/// The demo's app: one WebSocket client connected to Lifeline. Owns its socket, its
/// handshake, and the sequence check that is the point of the demo: every `{"seq":N}`
/// must be the previous one plus one. A jump forward counts as a gap, a repeat or a step
/// back as a duplicate. Answers Lifeline's pings; measures nothing else itself.
final class DemoClient {
    /// Ticker messages received.
    private(set) var messages = 0
    /// Times the sequence jumped forward, and the sequence numbers skipped by those jumps.
    private(set) var gaps = 0
    private(set) var missing = 0
    /// Messages whose seq was not above the previous one.
    private(set) var duplicates = 0
    /// Pings from Lifeline answered.
    private(set) var pingsAnswered = 0
    private(set) var lastSeq: Int?
    /// Set when the connection failed or ended: the demo stops and says why.
    var onFailure: ((String) -> Void)?

    private let loop: EventLoop
    private var socket: DemoSocket?
    private let key = WebSocketAccept.makeKey()
    private var response: UpgradeResponseParser
    private var reader: DemoFrameReader?
    private var hostPort = ""

    init(loop: EventLoop) {
        self.loop = loop
        response = UpgradeResponseParser(expectedAccept: WebSocketAccept.compute(key: key), offeredProtocols: [])
    }

    /// Starts connecting; the upgrade and the subscribe follow without blocking.
    func connect(to address: SocketAddress) {
        hostPort = address.description
        let fd: Int32
        do {
            fd = try Socket.connect(to: address)
        } catch {
            return fail("cannot connect to Lifeline at \(hostPort): \(error)")
        }
        let socket = DemoSocket(fd: fd, loop: loop, connecting: true)
        socket.onConnected = { [unowned self] code in
            guard code == 0 else { return fail("cannot connect to Lifeline at \(hostPort): \(String(cString: strerror(code)))") }
            sendRequest()
        }
        socket.onData = { [unowned self] in received() }
        socket.onClosed = { [unowned self] in fail("Lifeline closed the client's connection") }
        self.socket = socket
    }

    /// Feeds one ticker message through the sequence check; false when it is not one.
    @discardableResult
    func check(_ text: [UInt8]) -> Bool {
        guard let seq = DemoClient.seq(of: text) else { return false }
        messages += 1
        if let last = lastSeq {
            if seq > last + 1 {
                gaps += 1
                missing += seq - last - 1
            } else if seq <= last {
                duplicates += 1
                return true
            }
        }
        lastSeq = seq
        return true
    }

    /// N of `{"seq":N}`, nil for anything else.
    static func seq(of text: [UInt8]) -> Int? {
        let prefix = Array(#"{"seq":"#.utf8)
        guard text.count > prefix.count + 1, text.starts(with: prefix), text.last == UInt8(ascii: "}") else { return nil }
        return Int(String(decoding: text[prefix.count..<(text.count - 1)], as: UTF8.self))
    }

    private func sendRequest() {
        socket?.send(Array("""
            GET /ticker HTTP/1.1\r
            Host: \(hostPort)\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: \(key)\r
            Sec-WebSocket-Version: 13\r
            User-Agent: lifeline-demo\r
            \r

            """.utf8))
    }

    private func received() {
        guard let socket else { return }
        if reader == nil {
            switch socket.inbound.withUnsafeBytes({ response.parse($0, eof: false) }) {
            case .needMore:
                return
            case .switching(_, let headLength):
                socket.inbound.removeFirst(headLength)
                reader = DemoFrameReader(role: .client)
                socket.send(DemoFrames.text(DemoTicker.subscribe, masked: true))
            case .refused(let head, _):
                return fail("Lifeline refused the client's upgrade with HTTP \(head.status)")
            case .invalid(_, let reason):
                return fail("bad upgrade response from Lifeline: \(reason)")
            }
        }
        reader!.read(&socket.inbound) { event in
            switch event {
            case .message(.text, let bytes):
                check(bytes)
            case .message, .pong:
                break
            case .ping(let payload):
                pingsAnswered += 1
                socket.send(DemoFrames.encode(.pong, payload, masked: true))
            case .close(let code):
                fail("Lifeline closed the client's connection with \(code.map(String.init) ?? "no code")")
            case .failure(let reason):
                fail("invalid frame from Lifeline: \(reason)")
            }
        }
    }

    private func fail(_ reason: String) {
        let report = onFailure
        onFailure = nil
        socket?.onClosed = nil
        socket?.close()
        report?(reason)
    }
}

@available(*, unavailable)
extension DemoClient: Sendable {}
