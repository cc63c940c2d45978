import LifelineCore

/// Input: byte 0 picks the role (bit 0) and `maxMessageBytes` (bits 1-3), byte 1
/// seeds the split points, the rest is the byte stream from the peer.
///
/// The stream is decoded three ways — whole, split at one point, one byte at a
/// time — each in exact-size heap buffers (so AddressSanitizer catches any read
/// past what the decoder was given). Every event is checked against the raw
/// input, and the three event streams must agree (data chunks merged per frame).
enum FrameDecoderFuzz {
    static let limits = [0, 1, 125, 126, 4096, 65536, 16 << 20, Int.max]
    /// Byte-at-a-time decoding costs an allocation per byte; longer streams get
    /// random pieces of 1-16 bytes instead.
    static let byteByByteLimit = 512

    static func run(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) {
        let b0 = input.count > 0 ? input[0] : 0
        let b1 = input.count > 1 ? input[1] : 0
        let role: FrameRole = b0 & 1 == 0 ? .server : .client
        let limit = limits[Int(b0 >> 1) & 7]
        let stream = Array(input.dropFirst(2))
        let n = stream.count

        let whole = try decode(stream, pieces: [n], role: role, limit: limit)
        let split = Int(b1) * (n + 1) / 256
        let halves = try decode(stream, pieces: [split, n - split], role: role, limit: limit)
        try require(halves == whole, "split at \(split) gives different events:\n whole \(whole)\n split \(halves)")
        var pieces: [Int] = []
        if n <= byteByByteLimit {
            pieces = Array(repeating: 1, count: n)
        } else {
            var random = SplitMix(seed: input)
            var left = n
            while left > 0 { let p = min(left, 1 + random.below(16)); pieces.append(p); left -= p }
        }
        let small = try decode(stream, pieces: pieces, role: role, limit: limit)
        try require(small == whole, "in pieces of 1-16 bytes: different events:\n whole \(whole)\n small \(small)")
    }

    /// One decoded event with data chunks merged, so differently split decodings compare equal.
    enum Event: Equatable {
        case header(FrameHeader)
        case data([UInt8])
        case frameEnd(messageEnd: Bool)
        case control(FrameHeader, [UInt8])
        case failure(UInt16, String)
    }

    /// What the harness tracks about the stream, independently of the decoder.
    struct Model {
        var inPayload = false
        var frame = FrameHeader(fin: true, opcode: .binary, maskKey: nil, payloadLength: 0)
        var frameDelivered = 0
        var fragmentOpen = false
        var messageIsText = false
        var messageBytes: [UInt8] = []
        var messageLength = 0
    }

    static func decode(_ stream: [UInt8], pieces: [Int], role: FrameRole, limit: Int) throws(InvariantViolation) -> [Event] {
        var decoder = FrameDecoder(role: role, maxMessageBytes: limit)
        var model = Model()
        var events: [Event] = []
        var pending: [UInt8] = []
        var pendingStart = 0   // stream offset of pending[0]
        var fed = 0
        func record(_ event: Event) {
            if case .data(let more) = event, case .data(let have)? = events.last {
                events[events.count - 1] = .data(have + more)
            } else {
                events.append(event)
            }
        }
        for piece in pieces {
            pending += stream[fed..<fed + piece]
            fed += piece
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pending.count, alignment: 1)
            defer { buffer.deallocate() }
            buffer.copyBytes(from: pending)
            var pos = 0
            var steps = 0
            loop: while true {
                steps += 1
                try require(steps <= 2 * pending.count + 4, "no progress: \(steps) events from \(pending.count) bytes")
                let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[pos...])
                let at = pendingStart + pos   // stream offset of rest[0]
                let (event, consumed) = decoder.next(rest)
                try require(consumed >= 0 && consumed <= rest.count, "consumed \(consumed) of \(rest.count) bytes")
                switch event {
                case .needMore:
                    try require(consumed == 0, "needMore consumed \(consumed)")
                    try require(!model.inPayload || model.frame.payloadLength > model.frameDelivered && rest.count == 0,
                                "needMore inside a payload with \(rest.count) bytes available")
                    break loop
                case .dataHeader(let header):
                    try checkHeader(header, consumed: consumed, stream: stream, at: at, role: role)
                    try require(!model.inPayload, "data header inside a frame's payload")
                    try require(!header.opcode.isControl, "control opcode in a data header")
                    if header.opcode == .continuation {
                        try require(model.fragmentOpen, "continuation accepted without a message in progress")
                        model.messageLength += header.payloadLength
                    } else {
                        try require(!model.fragmentOpen, "new \(header.opcode) message accepted inside a fragmented one")
                        model.messageIsText = header.opcode == .text
                        model.messageBytes = []
                        model.messageLength = header.payloadLength
                        model.fragmentOpen = !header.fin
                    }
                    try require(model.messageLength <= limit, "message of \(model.messageLength) bytes accepted, limit \(limit)")
                    model.inPayload = true
                    model.frame = header
                    model.frameDelivered = 0
                    try require(decoder.isInsideFragmentedMessage == model.fragmentOpen,
                                "isInsideFragmentedMessage \(decoder.isInsideFragmentedMessage) after header \(header)")
                    record(.header(header))
                case .dataPayload(let chunk, let frameEnd, let messageEnd):
                    try require(model.inPayload, "data payload outside a data frame")
                    let remaining = model.frame.payloadLength - model.frameDelivered
                    try require(chunk.baseAddress == rest.baseAddress || chunk.count == 0 && rest.count == 0,
                                "payload chunk does not start at the front of the buffer")
                    try require(chunk.count == consumed, "payload chunk of \(chunk.count) bytes, consumed \(consumed)")
                    try require(chunk.count <= remaining, "chunk of \(chunk.count) bytes, \(remaining) left in the frame")
                    try require(chunk.count == min(remaining, rest.count), "chunk of \(chunk.count), not min(\(remaining), \(rest.count))")
                    try require(chunk.count > 0 || model.frame.payloadLength == 0, "empty chunk of a non-empty frame")
                    try require(frameEnd == (chunk.count == remaining), "frameEnd \(frameEnd) with \(remaining - chunk.count) bytes left")
                    try require(messageEnd == (frameEnd && model.frame.fin), "messageEnd \(messageEnd), frameEnd \(frameEnd), fin \(model.frame.fin)")
                    let bytes = Array(UnsafeRawBufferPointer(chunk))
                    try checkUnmasked(bytes, stream: stream, at: at, key: model.frame.maskKey, phase: model.frameDelivered)
                    model.frameDelivered += chunk.count
                    if model.messageIsText {
                        model.messageBytes += bytes
                        if messageEnd {
                            try require(Oracle.isUTF8(model.messageBytes), "invalid UTF-8 text message delivered: \(hex(model.messageBytes))")
                        }
                    }
                    if frameEnd {
                        model.inPayload = false
                        if model.frame.fin { model.fragmentOpen = false }
                    }
                    try require(decoder.isInsideFragmentedMessage == model.fragmentOpen,
                                "isInsideFragmentedMessage \(decoder.isInsideFragmentedMessage), expected \(model.fragmentOpen)")
                    record(.data(bytes))
                    if frameEnd { record(.frameEnd(messageEnd: messageEnd)) }
                case .control(let header, let payload):
                    try require(!model.inPayload, "control frame inside a data frame's payload")
                    try require(header.opcode.isControl && header.fin, "control event for \(header)")
                    try require(header.payloadLength <= 125, "control payload of \(header.payloadLength) bytes")
                    let headerLength = consumed - header.payloadLength
                    try checkHeader(header, consumed: headerLength, stream: stream, at: at, role: role)
                    try require(payload.count == header.payloadLength, "control payload of \(payload.count), header says \(header.payloadLength)")
                    try require(payload.baseAddress == rest.baseAddress.map { $0 + headerLength } || payload.count == 0,
                                "control payload not right after its header")
                    let bytes = Array(UnsafeRawBufferPointer(payload))
                    try checkUnmasked(bytes, stream: stream, at: at + headerLength, key: header.maskKey, phase: 0)
                    if header.opcode == .close {
                        try require(bytes.count != 1, "close payload of one byte accepted")
                        if bytes.count >= 2 {
                            let code = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
                            let valid = (1000...1003).contains(code) || (1007...1011).contains(code) || (3000...4999).contains(code)
                            try require(valid, "close code \(code) accepted")
                            try require(Oracle.isUTF8(bytes[2...]), "close reason not UTF-8: \(hex(bytes[2...]))")
                        }
                    }
                    record(.control(header, bytes))
                case .failure(let code, let reason):
                    try require(consumed == 0, "failure consumed \(consumed)")
                    try require([1002, 1007, 1009].contains(code.rawValue), "failure with close code \(code.rawValue)")
                    if code == .invalidPayload && !model.inPayload {
                        try require(reason.description.contains("close reason"), "UTF-8 failure outside a payload: \(reason)")
                    } else if code == .invalidPayload {
                        try require(model.messageIsText, "UTF-8 failure in a binary message: \(reason)")
                        // The failing chunk has been unmasked in place at the front of `rest`.
                        let take = min(model.frame.payloadLength - model.frameDelivered, rest.count)
                        let seen = model.messageBytes + Array(UnsafeRawBufferPointer(rebasing: rest[..<take]))
                        if reason.description.contains("ends inside") {
                            try require(!Oracle.isUTF8(seen) && Oracle.isUTF8Prefix(seen), "'\(reason)' for \(hex(seen))")
                        } else {
                            try require(!Oracle.isUTF8Prefix(seen), "'\(reason)' for a valid UTF-8 prefix \(hex(seen))")
                        }
                    }
                    let (again, againConsumed) = decoder.next(rest)
                    guard case .failure(let code2, let reason2) = again, code2 == code, reason2.description == reason.description, againConsumed == 0 else {
                        throw InvariantViolation("failure not sticky: \(code.rawValue) \(reason), then \(again)")
                    }
                    // Drop the open frame's data: how much of it was delivered before the failure depends on the split.
                    if model.inPayload, case .data? = events.last { events.removeLast() }
                    events.append(.failure(code.rawValue, reason.description))
                    return events
                }
                pos += consumed
            }
            // Bytes the decoder did not consume must be untouched.
            let left = Array(UnsafeRawBufferPointer(rebasing: buffer[pos...]))
            try require(left[...] == stream[(pendingStart + pos)..<(pendingStart + pos + left.count)],
                        "decoder changed bytes it did not consume")
            pending = left
            pendingStart += pos
        }
        if model.inPayload, model.messageIsText {
            try require(Oracle.isUTF8Prefix(model.messageBytes), "text delivered so far is not a UTF-8 prefix: \(hex(model.messageBytes))")
        }
        return events
    }

    /// The header matches the wire bytes at `at`, read here independently.
    static func checkHeader(_ h: FrameHeader, consumed: Int, stream: [UInt8], at: Int, role: FrameRole) throws(InvariantViolation) {
        try require(at + consumed <= stream.count && consumed >= 2, "header of \(consumed) bytes at \(at) of \(stream.count)")
        let b0 = stream[at], b1 = stream[at + 1]
        try require(b0 & 0x70 == 0, "RSV bits set in accepted header \(hex([b0]))")
        try require(h.fin == (b0 & 0x80 != 0) && h.opcode.rawValue == b0 & 0x0F, "fin/opcode differ from byte \(hex([b0]))")
        let masked = b1 & 0x80 != 0
        try require(masked == (role == .server), "masked \(masked) accepted by \(role)")
        let length7 = Int(b1 & 0x7F)
        var length = length7, at2 = at + 2
        if length7 == 126 {
            length = Int(stream[at2]) << 8 | Int(stream[at2 + 1]); at2 += 2
        } else if length7 == 127 {
            var l: UInt64 = 0
            for i in 0..<8 { l = l << 8 | UInt64(stream[at2 + i]) }
            try require(l >> 63 == 0, "64-bit length with the top bit accepted")
            length = Int(l); at2 += 8
        }
        try require(h.payloadLength == length, "payload length \(h.payloadLength), wire says \(length)")
        if masked {
            let key = stream[at2..<at2 + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            try require(h.maskKey == key, "mask key differs from the wire")
            at2 += 4
        } else {
            try require(h.maskKey == nil, "mask key on an unmasked frame")
        }
        try require(at2 - at == consumed, "header length \(consumed), wire says \(at2 - at)")
    }

    /// `bytes` are the wire bytes at `at` XOR the key (phase = payload offset of bytes[0]).
    static func checkUnmasked(_ bytes: [UInt8], stream: [UInt8], at: Int, key: UInt32?, phase: Int) throws(InvariantViolation) {
        try require(at + bytes.count <= stream.count, "payload past the end of the stream")
        let keyBytes: [UInt8] = key.map { k in withUnsafeBytes(of: k) { Array($0) } } ?? [0, 0, 0, 0]
        for i in 0..<bytes.count where bytes[i] != stream[at + i] ^ keyBytes[(phase + i) & 3] {
            throw InvariantViolation("payload byte \(phase + i) unmasked wrong")
        }
    }
}
