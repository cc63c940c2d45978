/// The storage behind `ReplayMemory`: whole messages (opcode + payload) in
/// first-in first-out order, each payload contiguous in one byte buffer used as
/// a ring. Owns the layout only; which messages to keep and when to evict is
/// `ReplayMemory`'s business.
///
/// Layout (a "bip buffer"): payloads fill region A = [aStart, aEnd); when the
/// next one does not fit at the end of the buffer it starts region B = [0, bEnd)
/// in front of A; when A empties, B becomes A. Eviction is always of the oldest
/// message, which is at aStart. With the buffer at twice `maxBytes`, any message
/// fits once the live bytes plus it are ≤ maxBytes (so the layout never forces an
/// eviction the byte bound does not): a wrap happens only with aEnd > 2M − L ≥ M,
/// leaving ≥ L free below aStart. Smaller buffers are used while the session
/// remembers less: the buffer is allocated on the first non-empty payload and
/// doubles (re-laid out oldest-first) when a payload does not fit, up to
/// 2 × maxBytes, and is never shrunk.
struct ReplayByteRing {
    /// One remembered message: its bytes are storage[offset ..< offset + length].
    struct Entry {
        var offset: UInt32
        var length: UInt32
        var opcode: Opcode
    }

    /// Smallest buffer ever allocated, in bytes (less if the limit is smaller).
    static var initialCapacity: Int { 1024 }

    /// Bound on the buffer: 2 × maxBytes.
    let byteLimit: Int
    private var entries: GrowableRing<Entry>
    private var storage: [UInt8] = []
    private var aStart = 0
    private var aEnd = 0
    private var bEnd = 0
    private var wrapped = false
    /// Payload bytes held (the sum of the entries' lengths).
    private(set) var byteCount = 0

    init(maxMessages: Int, maxBytes: Int) {
        byteLimit = 2 * max(maxBytes, 0)
        entries = GrowableRing(filler: Entry(offset: 0, length: 0, opcode: .binary), maxCapacity: maxMessages)
    }

    var count: Int { entries.count }
    /// Bytes allocated for payloads (for tests and memory accounting).
    var capacity: Int { storage.count }

    /// Adds a message as the newest. Preconditions: fewer than maxMessages held,
    /// and byteCount + payload.count ≤ byteLimit / 2.
    mutating func append(opcode: Opcode, payload: UnsafeRawBufferPointer) {
        let length = payload.count
        var offset = 0
        if length > 0 {
            offset = place(length) ?? relayOut(adding: length)
            storage.withUnsafeMutableBytes { buffer in
                (buffer.baseAddress! + offset).copyMemory(from: payload.baseAddress!, byteCount: length)
            }
        }
        entries.append(Entry(offset: UInt32(offset), length: UInt32(length), opcode: opcode))
        byteCount += length
    }

    /// Forgets the oldest message. Precondition: not empty.
    mutating func removeFirst() {
        let entry = entries.removeFirst()
        byteCount -= Int(entry.length)
        if entry.length > 0 {
            aStart += Int(entry.length)
            if aStart == aEnd {
                if wrapped {
                    (aStart, aEnd, bEnd, wrapped) = (0, bEnd, 0, false)
                } else {
                    (aStart, aEnd) = (0, 0)
                }
            }
        }
        if entries.isEmpty { (aStart, aEnd, bEnd, wrapped) = (0, 0, 0, false) }
    }

    /// Forgets everything, keeping the buffers.
    mutating func removeAll() {
        entries.removeAll()
        byteCount = 0
        (aStart, aEnd, bEnd, wrapped) = (0, 0, 0, false)
    }

    /// Calls `body` with each message, oldest first.
    func forEach(_ body: (Opcode, UnsafeRawBufferPointer) -> Void) {
        storage.withUnsafeBytes { buffer in
            for index in 0..<entries.count {
                let entry = entries[index]
                let length = Int(entry.length)
                if length == 0 {
                    body(entry.opcode, UnsafeRawBufferPointer(start: nil, count: 0))
                } else {
                    body(entry.opcode, UnsafeRawBufferPointer(rebasing: buffer[Int(entry.offset) ..< Int(entry.offset) + length]))
                }
            }
        }
    }

    /// Where `length` bytes fit in the current buffer (claiming them), or nil.
    private mutating func place(_ length: Int) -> Int? {
        if wrapped {
            guard aStart - bEnd >= length else { return nil }
            defer { bEnd += length }
            return bEnd
        }
        if storage.count - aEnd >= length {
            defer { aEnd += length }
            return aEnd
        }
        guard aStart >= length else { return nil }
        wrapped = true
        bEnd = length
        return 0
    }

    /// Moves the held payloads oldest-first to the front of a larger buffer and
    /// claims `length` bytes after them.
    private mutating func relayOut(adding length: Int) -> Int {
        let needed = byteCount + length
        precondition(needed <= byteLimit / 2, "ReplayByteRing over its byte limit")
        var capacity = max(storage.count * 2, min(Self.initialCapacity, byteLimit))
        while capacity < needed { capacity *= 2 }
        capacity = min(capacity, byteLimit)
        var grown = [UInt8](repeating: 0, count: capacity)
        var end = 0
        grown.withUnsafeMutableBytes { target in
            storage.withUnsafeBytes { source in
                for index in 0..<entries.count where entries[index].length > 0 {
                    let entry = entries[index]
                    let length = Int(entry.length)
                    (target.baseAddress! + end).copyMemory(from: source.baseAddress! + Int(entry.offset), byteCount: length)
                    entries[index].offset = UInt32(end)
                    end += length
                }
            }
        }
        storage = grown
        (aStart, aEnd, bEnd, wrapped) = (0, end + length, 0, false)
        return end
    }
}
