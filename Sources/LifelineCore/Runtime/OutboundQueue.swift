import Glibc

/// The bytes waiting to go out on one connection, in order, plus a priority lane for
/// the control frames Lifeline writes itself (pongs now, its own pings later).
///
/// The lane jumps the queue at the next *frame boundary*: the queue walks frame
/// headers as bytes leave, so it always knows how much of the frame at its head is
/// still unsent. Control frames never land inside another frame, and never wait
/// behind megabytes of backlog.
///
/// Storage is allocated on first use and grows by doubling; a large buffer is given
/// back once drained so an idle connection holds no buffer memory.
///
/// Frames relayed unchanged may be *borrowed* instead of copied (`appendBorrowed`): the
/// queue then points into the caller's read buffer, and the caller must `settleBorrowed`
/// before that buffer is reused, which copies whatever the socket did not take. While
/// bytes are borrowed nothing is stored, so the queue is either all borrowed or all stored.
struct OutboundQueue {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var head = 0
    private var tail = 0
    /// Bytes from `head` to the end of the unit (frame or opaque HTTP bytes) `head` is in; 0 = at a boundary.
    private var unitRemaining = 0
    private var lane = ControlLane()
    /// TLS only: bytes taken from the queue for an SSL_write that has not taken them all yet.
    private var staged = StagedBytes()
    /// TLS only: an SSL_write of this many bytes at `head` must be retried before anything else.
    private var tlsRetryLength = 0
    /// The buffer was made for an HTTP head: give it back once drained (most sessions go
    /// idle right after the handshake, and an idle session should hold no buffer).
    private var releaseWhenDrained = false
    /// Borrowed bytes (only while `tail == head`): the start of the unsent part and its length.
    private var borrowedStart: UnsafeRawPointer?
    private var borrowedCount = 0

    /// Data bytes queued (not counting the control lane).
    var queuedBytes: Int { tail - head + staged.count + borrowedCount }
    var isEmpty: Bool { tail == head && borrowedCount == 0 && lane.isEmpty && staged.isEmpty }

    /// Space for `count` bytes at the tail; make them part of the queue with `commit`.
    /// A frame's header must be committed whole before its payload.
    @inline(__always)
    mutating func reserve(_ count: Int) -> UnsafeMutableRawPointer {
        if borrowedCount > 0 { copyBorrowed() }
        if tail + count > capacity { makeRoom(for: count) }
        return storage! + tail
    }

    /// Queues already-encoded frame bytes without copying them: they must stay valid and
    /// unchanged until `settleBorrowed()`. Bytes that continue the borrowed span are added
    /// to it; anything else (or anything after stored bytes) is copied as `append` does.
    mutating func appendBorrowed(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        if borrowedCount > 0 && borrowedStart! + borrowedCount == bytes.baseAddress! {
            borrowedCount += bytes.count
        } else if borrowedCount == 0 && tail == head && staged.isEmpty && tlsRetryLength == 0 {
            borrowedStart = bytes.baseAddress!
            borrowedCount = bytes.count
        } else {
            append(bytes)
        }
    }

    /// Copies the unsent borrowed bytes into the queue's own storage (the caller's buffer
    /// is about to be reused). Nothing to do when the socket took them all.
    @inline(__always)
    mutating func settleBorrowed() {
        if borrowedCount > 0 { copyBorrowed() }
    }

    @inline(never)
    private mutating func copyBorrowed() {
        let start = borrowedStart!, count = borrowedCount
        borrowedStart = nil
        borrowedCount = 0
        if tail + count > capacity { makeRoom(for: count) }
        (storage! + tail).copyMemory(from: start, byteCount: count)
        tail += count
    }

    mutating func commit(_ count: Int) { tail += count }

    /// Appends already-encoded frame bytes.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        commit(bytes.count)
    }

    /// Appends bytes that are not WebSocket frames (an HTTP response). Only at the start
    /// of a connection's life, when nothing else is queued.
    mutating func appendOpaque(_ bytes: [UInt8]) {
        precondition(tail == head, "opaque bytes must not follow frames")
        bytes.withUnsafeBytes { append($0) }
        unitRemaining = bytes.count
        releaseWhenDrained = true
    }

    /// Queues a control frame for the priority lane. False when the lane is full (the
    /// caller may drop a pong: RFC 6455 §5.5.3 lets it answer only the latest ping).
    @discardableResult
    mutating func enqueueControl(_ frame: UnsafeRawBufferPointer) -> Bool {
        lane.append(frame)
    }

    /// Queues a pong answering a peer's ping. It is never refused: with the lane full it
    /// replaces the previous unsent overflow pong, so the newest ping is always answered.
    mutating func enqueuePong(_ frame: UnsafeRawBufferPointer) {
        lane.appendPong(frame)
    }

    /// The next bytes to send, in order: the control lane goes at the next frame boundary.
    private func nextSegments() -> WriteSegments {
        var segments = WriteSegments()
        let available = dataCount
        if !lane.isEmpty && (unitRemaining == 0 || unitRemaining <= available) {
            let before = unitRemaining
            if before > 0 { segments.add(dataStart, before, kind: .data) }
            segments.add(lane.pendingStart, lane.pendingCount, kind: .control)
            if available > before { segments.add(dataStart + before, available - before, kind: .data) }
        } else if available > 0 {
            segments.add(dataStart, available, kind: .data)
        }
        return segments
    }

    /// The unsent data bytes: borrowed, or stored (never both).
    private var dataStart: UnsafeRawPointer { borrowedCount > 0 ? borrowedStart! : UnsafeRawPointer(storage! + head) }
    private var dataCount: Int { borrowedCount > 0 ? borrowedCount : tail - head }

    /// Writes as much as the socket takes, control lane first at a frame boundary.
    mutating func write(to fd: Int32) -> WriteOutcome {
        // The usual case gets its own short path (at one message per wake-up the code a
        // write touches is a measurable part of the latency, bench/RESULTS.md).
        if lane.isEmpty { return writeData(to: fd) }
        while true {
            let segments = nextSegments()
            if segments.total == 0 { return .drained }
            let written = segments.write(to: fd)
            if written < 0 {
                guard let outcome = OutboundQueue.outcome(ofFailedSend: errno) else { continue }
                return outcome
            }
            segments.account(written) { kind, count in
                if kind == .control { lane.consume(count) } else { consumeData(count) }
            }
            if written < segments.total { return .blocked }
        }
    }

    /// A send that returned -1: nil to retry it (EINTR), otherwise what the write comes to.
    private static func outcome(ofFailedSend code: Int32) -> WriteOutcome? {
        if code == EINTR { return nil }
        return code == EAGAIN || code == EWOULDBLOCK ? .blocked : .failed(code)
    }

    /// `write(to:)` with no control frame waiting: the data bytes, one send per attempt.
    private mutating func writeData(to fd: Int32) -> WriteOutcome {
        while true {
            let count = dataCount
            if count == 0 { return .drained }
            let written = send(fd, dataStart, count, WriteSegments.flags)
            if written < 0 {
                guard let outcome = OutboundQueue.outcome(ofFailedSend: errno) else { continue }
                return outcome
            }
            consumeData(written)
            if written < count { return .blocked }
        }
    }

    /// Writes as much as TLS takes, in the same order as `write(to:)`. An SSL_write that
    /// could not finish must be retried with the same bytes and length, so nothing may
    /// change what goes first until it has: the retried bytes are either the `staged`
    /// copy (small segments coalesced into one TLS record) or `tlsRetryLength` bytes
    /// still at `head` (a large frame written in place); the control lane waits behind them.
    /// On `.blocked`, `tls.writeWants` says which readiness to wait for.
    mutating func write(to tls: TLSSession) -> WriteOutcome {
        settleBorrowed() // TLS encrypts from storage only
        while true {
            if !staged.isEmpty {
                switch tls.write(staged.start, count: staged.count) {
                case .complete(let written): staged.consume(written); continue
                case .incomplete: return .blocked
                case .closed: return .failed(EPIPE)
                case .failed(let failure): return .failed(failure.code)
                }
            }
            if tlsRetryLength > 0 {
                switch tls.write(storage! + head, count: tlsRetryLength) {
                case .complete(let written): tlsRetryLength = 0; consumeData(written); continue
                case .incomplete: return .blocked
                case .closed: return .failed(EPIPE)
                case .failed(let failure): return .failed(failure.code)
                }
            }
            let segments = nextSegments()
            if segments.total == 0 {
                staged.release()
                return .drained
            }
            let (firstLength, firstKind) = segments.segment(0)
            if firstKind == .data && firstLength >= OutboundQueue.tlsRecordPayload {
                // A large frame: encrypt straight from the queue, one record per call. A
                // retried SSL_write goes on with further records of its length while it
                // keeps returning WANT_WRITE, so a longer call would hold the control
                // lane back for all of it.
                let length = OutboundQueue.tlsRecordPayload
                switch tls.write(storage! + head, count: length) {
                case .complete(let written): consumeData(written)
                case .incomplete: tlsRetryLength = length; return .blocked
                case .closed: return .failed(EPIPE)
                case .failed(let failure): return .failed(failure.code)
                }
            } else {
                // Small segments (a pong between frames, many small messages): one record.
                let copied = staged.fill(from: segments, limit: OutboundQueue.tlsRecordPayload)
                segments.account(copied) { kind, count in
                    if kind == .control { lane.consume(count) } else { consumeData(count) }
                }
            }
        }
    }

    /// The most plaintext one TLS record carries.
    static let tlsRecordPayload = 16 * 1024

    /// Drops everything queued (the connection is going away).
    mutating func discardAll() {
        head = 0; tail = 0; unitRemaining = 0
        borrowedStart = nil; borrowedCount = 0
        lane.release()
        staged.release()
        tlsRetryLength = 0
        releaseStorage()
    }

    /// Gives the buffer back when nothing is queued.
    mutating func releaseStorage() {
        guard tail == head, let storage else { return }
        storage.deallocate()
        self.storage = nil
        capacity = 0; head = 0; tail = 0
    }

    private mutating func consumeData(_ count: Int) {
        if borrowedCount > 0 { return consumeBorrowed(count) }
        var left = count
        while left > 0 {
            if unitRemaining == 0 { unitRemaining = FrameWire.totalLength(at: storage! + head) }
            let step = min(left, unitRemaining)
            head += step; unitRemaining -= step; left -= step
        }
        if head == tail {
            head = 0; tail = 0
            if releaseWhenDrained || capacity > OutboundQueue.keptCapacity {
                releaseWhenDrained = false
                releaseStorage()
            }
        }
    }

    /// `consumeData` for borrowed bytes: the same frame walk over the caller's buffer.
    private mutating func consumeBorrowed(_ count: Int) {
        var left = count
        while left > 0 {
            if unitRemaining == 0 { unitRemaining = FrameWire.totalLength(at: borrowedStart!) }
            let step = min(left, unitRemaining)
            borrowedStart! += step; borrowedCount -= step; unitRemaining -= step; left -= step
        }
        if borrowedCount == 0 { borrowedStart = nil }
    }

    /// The first buffer's size (bytes); it grows by doubling.
    static let initialCapacity = 256

    /// A drained buffer up to this size is kept for the next burst; larger ones are freed
    /// (and any drained one when the connection turns out idle, see `releaseStorage`).
    static let keptCapacity = 256 * 1024

    private mutating func makeRoom(for count: Int) {
        let live = tail - head
        if let storage, head > 0, live + count <= capacity {
            memmove(storage, storage + head, live)
            head = 0; tail = live
            return
        }
        // Start small (a close frame or an HTTP head needs a few hundred bytes: 10,000 sessions
        // draining at once must not take 16 KiB each) and double: a busy relay reaches its
        // working size after a few reallocations and keeps it until the connection goes idle.
        var newCapacity = max(capacity * 2, OutboundQueue.initialCapacity)
        while newCapacity < live + count { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let storage {
            grown.copyMemory(from: storage + head, byteCount: live)
            storage.deallocate()
        }
        storage = grown
        capacity = newCapacity
        head = 0; tail = live
    }
}

/// What a write attempt left behind.
enum WriteOutcome: Equatable {
    case drained
    case blocked
    case failed(Int32)
}

/// Reads a frame's total wire length (header + payload) from its header bytes. The
/// queue only ever holds frames Lifeline encoded, so the header is well formed.
enum FrameWire {
    @inline(__always)
    static func totalLength(at frame: UnsafeRawPointer) -> Int {
        let second = frame.load(fromByteOffset: 1, as: UInt8.self)
        let maskBytes = second & 0x80 != 0 ? 4 : 0
        switch second & 0x7F {
        case 126:
            let length = Int(frame.load(fromByteOffset: 2, as: UInt8.self)) << 8 | Int(frame.load(fromByteOffset: 3, as: UInt8.self))
            return 4 + maskBytes + length
        case 127:
            var length = 0
            for index in 2..<10 { length = length << 8 | Int(frame.load(fromByteOffset: index, as: UInt8.self)) }
            return 10 + maskBytes + length
        case let short:
            return 2 + maskBytes + Int(short)
        }
    }
}

/// Up to three iovecs for one writev, each tagged data or control.
private struct WriteSegments {
    enum Kind { case data, control }
    private var vectors = (iovec(), iovec(), iovec())
    private var kinds: (Kind, Kind, Kind) = (.data, .data, .data)
    private var count = 0
    private(set) var total = 0

    mutating func add(_ base: UnsafeRawPointer, _ length: Int, kind: Kind) {
        guard length > 0 else { return }
        let vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: length)
        switch count {
        case 0: vectors.0 = vector; kinds.0 = kind
        case 1: vectors.1 = vector; kinds.1 = kind
        default: vectors.2 = vector; kinds.2 = kind
        }
        count += 1
        total += length
    }

    /// send/sendmsg rather than write/writev: the socket calls skip the file layer, and
    /// MSG_NOSIGNAL makes a vanished peer an EPIPE, never a signal.
    func write(to fd: Int32) -> Int {
        if count == 1 { return send(fd, vectors.0.iov_base, vectors.0.iov_len, WriteSegments.flags) }
        var vectors = self.vectors
        return withUnsafeMutablePointer(to: &vectors) {
            $0.withMemoryRebound(to: iovec.self, capacity: 3) { iov in
                var message = msghdr()
                message.msg_iov = iov
                message.msg_iovlen = count
                return sendmsg(fd, &message, WriteSegments.flags)
            }
        }
    }

    /// MSG_NOSIGNAL (Linux value; the Glibc module does not export the name).
    fileprivate static let flags: Int32 = 0x4000

    /// The base address of segment `index`.
    func base(_ index: Int) -> UnsafeRawPointer {
        switch index {
        case 0: return UnsafeRawPointer(vectors.0.iov_base!)
        case 1: return UnsafeRawPointer(vectors.1.iov_base!)
        default: return UnsafeRawPointer(vectors.2.iov_base!)
        }
    }

    var segmentCount: Int { count }

    /// Calls `body` for each segment's written part, in order.
    func account(_ written: Int, _ body: (Kind, Int) -> Void) {
        var left = written
        for index in 0..<count where left > 0 {
            let (length, kind) = segment(index)
            let step = min(left, length)
            body(kind, step)
            left -= step
        }
    }

    func segment(_ index: Int) -> (Int, Kind) {
        switch index {
        case 0: return (vectors.0.iov_len, kinds.0)
        case 1: return (vectors.1.iov_len, kinds.1)
        default: return (vectors.2.iov_len, kinds.2)
        }
    }
}

/// TLS: small segments copied into one buffer so they leave as one record; kept until
/// SSL_write has taken all of them (its retry needs the same bytes).
private struct StagedBytes {
    private var bytes: UnsafeMutableRawPointer?
    private var offset = 0
    private var end = 0

    var isEmpty: Bool { offset == end }
    var count: Int { end - offset }
    var start: UnsafeRawPointer { UnsafeRawPointer(bytes! + offset) }

    /// Copies up to `limit` bytes of `segments`, in order; returns how many.
    mutating func fill(from segments: WriteSegments, limit: Int) -> Int {
        if bytes == nil { bytes = .allocate(byteCount: limit, alignment: 16) }
        offset = 0; end = 0
        for index in 0..<segments.segmentCount where end < limit {
            let (length, _) = segments.segment(index)
            let step = min(length, limit - end)
            (bytes! + end).copyMemory(from: segments.base(index), byteCount: step)
            end += step
        }
        return end
    }

    mutating func consume(_ written: Int) { offset += written }

    mutating func release() {
        bytes?.deallocate()
        bytes = nil
        offset = 0; end = 0
    }
}

/// The priority lane's bytes: control frames Lifeline wrote itself, sent in order ahead
/// of the data queue. Its buffer exists only while something waits (an idle connection
/// holds none; glibc's per-thread cache makes the allocation per ping/pong cycle cheap).
///
/// A full lane still answers the newest peer ping (RFC 6455 §5.5.3 lets Lifeline skip the
/// pongs of earlier pings, never the latest): the newest pong waits in one overflow slot
/// past the lane, replacing an older one there, and joins the lane once it has drained.
private struct ControlLane {
    static let capacity = 4 * 131
    /// Room for one control frame (the largest is 2 + 4 + 125 bytes) after the lane.
    static let overflowCapacity = 131
    private var bytes: UnsafeMutableRawPointer?
    private var start = 0
    private var end = 0
    /// Length of the pong in the overflow slot (0 = none).
    private var overflowCount = 0

    var isEmpty: Bool { start == end && overflowCount == 0 }
    var pendingStart: UnsafeRawPointer { UnsafeRawPointer(bytes! + start) }
    var pendingCount: Int { end - start }

    mutating func append(_ frame: UnsafeRawBufferPointer) -> Bool {
        if bytes == nil { bytes = .allocate(byteCount: ControlLane.capacity + ControlLane.overflowCapacity, alignment: 8) }
        if start == end && overflowCount == 0 { start = 0; end = 0 }
        guard overflowCount == 0, end + frame.count <= ControlLane.capacity else { return false }
        (bytes! + end).copyMemory(from: frame.baseAddress!, byteCount: frame.count)
        end += frame.count
        return true
    }

    /// Queues a pong; when the lane is full it takes the overflow slot (the newest pong wins).
    mutating func appendPong(_ frame: UnsafeRawBufferPointer) {
        if append(frame) { return }
        guard frame.count <= ControlLane.overflowCapacity else { return }
        (bytes! + ControlLane.capacity).copyMemory(from: frame.baseAddress!, byteCount: frame.count)
        overflowCount = frame.count
    }

    mutating func consume(_ count: Int) {
        start += count
        guard start == end, let bytes else { return }
        if overflowCount > 0 {
            bytes.copyMemory(from: bytes + ControlLane.capacity, byteCount: overflowCount)
            start = 0; end = overflowCount
            overflowCount = 0
            return
        }
        bytes.deallocate()
        self.bytes = nil
        start = 0; end = 0
    }

    mutating func release() {
        bytes?.deallocate()
        bytes = nil
        start = 0; end = 0; overflowCount = 0
    }
}
