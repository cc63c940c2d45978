import CLibev

/// One upstream connection of a session — one *generation* — and everything that belongs
/// to it alone: its socket, its handshake, its frame decoder, what is half-relayed toward
/// it, its lifetime timer, and how its messages reach the app (streamed frame by frame, or
/// assembled whole while a hand-over splices two streams). A session has at most two.
final class UpstreamLeg {
    enum Phase { case resolving, connecting, awaitingResponse, open, closing, closed }

    let generation: Int
    unowned(unsafe) let session: ProxySession
    var phase: Phase = .resolving
    var connection: Connection?

    // Handshake.
    var candidates: [SocketAddress] = []
    var lastConnectError = "no address"
    /// The address being connected to or connected (the key for rate-limited logs about it).
    var address: SocketAddress?
    var responseBytes: [UInt8] = []
    var responseParser: UpgradeResponseParser?

    // Toward upstream.
    var decoder: FrameDecoder
    /// Masking key and payload offset of the frame being re-masked toward this connection.
    var maskKey: UInt32 = 0
    var maskOffset = 0
    /// A frame's header went out but not all its payload: no other frame may follow yet.
    var frameOpenToward = false
    /// An app message's first fragments went out but not its last.
    var messageOpenToward = false
    var closeSent = false
    var closeReceived = false

    // Toward the app.
    /// Messages from this connection are relayed to the app (false once a splice switched away from it).
    var relaysToApp = true
    /// Messages are assembled whole (while a splice decides about them) instead of streamed.
    var assembles = false
    /// Hash this connection's messages (its stream is the "old" side of a splice).
    var wantsHashes = false
    /// The message arriving is being hashed (hashing starts only at a message's first frame).
    var hashing = false
    var hasher = MessageHasher()
    /// Whether the message arriving goes to the app (decided at its first frame).
    var messageReachesApp = true
    /// After the message being assembled, relay directly (the splice ended mid-message).
    var stopsAssemblingAtMessageEnd = false
    var assembly = MessageAssembly()
    /// A text message from this connection, kept (up to a bound) to match `rotate_on_match`.
    var noticeText: [UInt8] = []
    var noticeTextOverflow = false
    var inTextMessage = false
    /// A message from this connection is half-relayed to the app.
    var messageOpenTowardApp = false

    // Life.
    var openedAt: Double?
    var countedAsConnection = false
    private var timer: TimerWatcher!
    var deadline: Double = .infinity

    init(generation: Int, session: ProxySession, maxMessageBytes: Int) {
        self.generation = generation
        self.session = session
        decoder = FrameDecoder(role: .client, maxMessageBytes: maxMessageBytes)
        timer = TimerWatcher(owner: self, callback: upstreamLegTimerCallback)
    }

    deinit {
        timer.free(loop: session.loop.raw)
    }

    var isOpen: Bool { phase == .open && connection.map { !$0.isClosed } ?? false }

    /// Arms this leg's one timer: the connect deadline while connecting, the rotation age once open.
    func arm(at time: Double) {
        deadline = time
        if time.isFinite {
            timer.arm(after: time - session.loop.now, loop: session.loop.raw)
        } else {
            timer.disarm(loop: session.loop.raw)
        }
    }

    /// Closes the socket and stops the timer; the leg is finished.
    func close() {
        phase = .closed
        arm(at: .infinity)
        connection?.close()
        assembly.release()
    }

    fileprivate func timerFired() {
        deadline = .infinity
        session.legDeadlinePassed(self)
    }
}

@available(*, unavailable)
extension UpstreamLeg: Sendable {}

private let upstreamLegTimerCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<UpstreamLeg>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.timerFired() }
}

/// A message being put together from its frames (opcode of the first frame, all payloads).
struct MessageAssembly {
    var opcode: Opcode = .binary
    var bytes: [UInt8] = []
    var isOpen = false

    mutating func begin(_ opcode: Opcode) {
        self.opcode = opcode
        if !bytes.isEmpty { bytes.removeAll(keepingCapacity: true) }
        isOpen = true
    }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: chunk)
    }

    /// Capacity kept between messages; a larger buffer is released once its message is done.
    static let retainedCapacity = 4096

    mutating func release() {
        bytes = []
        isOpen = false
    }
}

/// A whole message waiting to be relayed to the app: held by a splice, or queued until the
/// old connection reaches a message boundary.
struct HeldMessage {
    var opcode: Opcode
    var bytes: [UInt8]
    var hash: UInt64
}
