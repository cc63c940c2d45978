/// Whole-frame encoding for the demo's peers: one unfragmented frame per message, masked
/// with a random key when the client sends it (RFC 6455 §5.3), plain from the server.
enum DemoFrames {
    static func encode(_ opcode: Opcode, _ payload: [UInt8], masked: Bool) -> [UInt8] {
        let key: UInt32? = masked ? UInt32.random(in: 0...UInt32.max) : nil
        let header = FrameHeader(fin: true, opcode: opcode, maskKey: key, payloadLength: payload.count)
        var frame = [UInt8](repeating: 0, count: 14 + payload.count)
        let length = frame.withUnsafeMutableBytes { out -> Int in
            let headerLength = header.encode(to: out.baseAddress!)
            payload.withUnsafeBytes { source in
                guard let base = source.baseAddress, !payload.isEmpty else { return }
                if let key {
                    Masking.copy(from: base, to: out.baseAddress! + headerLength, count: payload.count, key: key, offset: 0)
                } else {
                    (out.baseAddress! + headerLength).copyMemory(from: base, byteCount: payload.count)
                }
            }
            return headerLength + payload.count
        }
        frame.removeLast(frame.count - length)
        return frame
    }

    static func text(_ string: String, masked: Bool) -> [UInt8] { encode(.text, Array(string.utf8), masked: masked) }

    /// A close frame with a status code and no reason.
    static func close(code: UInt16, masked: Bool) -> [UInt8] {
        encode(.close, [UInt8(code >> 8), UInt8(code & 0xFF)], masked: masked)
    }
}

/// What a demo peer receives, whole: messages reassembled from their frames.
enum DemoFrameEvent: Equatable {
    case message(Opcode, [UInt8])
    case ping([UInt8])
    case pong
    /// A close frame and its status code (nil when it carried none).
    case close(UInt16?)
    /// The peer broke the protocol; the connection must go.
    case failure(String)
}

/// Owns a frame decoder and the message being reassembled; turns the bytes a `DemoSocket`
/// received into whole-message events and removes what it consumed.
struct DemoFrameReader {
    private var decoder: FrameDecoder
    private var message: [UInt8] = []
    private var messageOpcode = Opcode.binary

    init(role: FrameRole, maxMessageBytes: Int = 1 << 20) {
        decoder = FrameDecoder(role: role, maxMessageBytes: maxMessageBytes)
    }

    /// Decodes every complete event at the front of `bytes`, leaving any partial frame header
    /// or control frame in place for the next read.
    mutating func read(_ bytes: inout [UInt8], _ body: (DemoFrameEvent) -> Void) {
        var consumedTotal = 0
        var failed = false
        bytes.withUnsafeMutableBytes { buffer in
            while !failed {
                let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[consumedTotal...])
                let (event, consumed) = decoder.next(rest)
                consumedTotal += consumed
                switch event {
                case .needMore:
                    return
                case .dataHeader(let header):
                    if header.opcode != .continuation { messageOpcode = header.opcode; message.removeAll(keepingCapacity: true) }
                case .dataPayload(let chunk, _, let messageEnd):
                    message.append(contentsOf: UnsafeRawBufferPointer(chunk))
                    if messageEnd { body(.message(messageOpcode, message)) }
                case .control(let header, let payload):
                    switch header.opcode {
                    case .ping: body(.ping(Array(payload)))
                    case .pong: body(.pong)
                    default: body(.close(ClosePayload.parse(UnsafeRawBufferPointer(payload)).code))
                    }
                case .failure(_, let reason):
                    failed = true
                    body(.failure(reason.description))
                }
            }
        }
        bytes.removeFirst(consumedTotal)
    }
}
