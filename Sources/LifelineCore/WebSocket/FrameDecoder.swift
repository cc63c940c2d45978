/// Incremental RFC 6455 frame decoder over the caller's own buffer. Owns the
/// frame/message state machine: header validation before any payload is
/// buffered, in-place unmasking, fragmentation rules, the message size limit
/// and incremental UTF-8 validation of text messages.
///
/// Usage: call `next` with the unconsumed bytes, drop `consumed` leading bytes,
/// and repeat until `.needMore` (also with an empty buffer, so a zero-length
/// frame's empty chunk is delivered). Data payloads stream out as they arrive;
/// control frames are only returned whole, so the caller keeps up to 131 bytes.
public struct FrameDecoder {
    /// Where in the byte stream the decoder is.
    @usableFromInline
    enum State {
        case awaitingHeader
        /// Inside a data frame's payload: `remaining` bytes still to come.
        case payload(remaining: Int, maskKey: UInt32?, maskOffset: Int, fin: Bool)
        /// Reasons stay `StaticString` so the state is trivial (no retain/release
        /// on the hot path); the `String` is only made when reporting a failure.
        case failed(CloseCode, reason: StaticString)
    }

    @usableFromInline let role: FrameRole
    @usableFromInline let maxMessageBytes: Int
    @usableFromInline var state: State = .awaitingHeader
    /// A message started with FIN=0 and its final frame has not ended yet.
    @usableFromInline var fragmentedMessageOpen = false
    /// The current message is text, so its payload goes through `utf8`.
    @usableFromInline var messageIsText = false
    /// Payload bytes announced so far by the current message's frame headers.
    @usableFromInline var messageBytes = 0
    @usableFromInline var utf8 = UTF8Validator()

    public init(role: FrameRole, maxMessageBytes: Int) {
        self.role = role
        self.maxMessageBytes = maxMessageBytes
    }

    /// True between the header of a FIN=0 text/binary frame and the end of its
    /// message's final continuation frame.
    @inlinable
    public var isInsideFragmentedMessage: Bool { fragmentedMessageOpen }

    /// Decodes one event from the front of `bytes`. `consumed` is how many
    /// leading bytes the caller must drop before calling again with the rest.
    @inlinable @inline(__always)
    public mutating func next(_ bytes: UnsafeMutableRawBufferPointer) -> (event: DecodeEvent, consumed: Int) {
        switch state {
        case .awaitingHeader:
            return nextHeader(bytes)
        case let .payload(remaining, maskKey, maskOffset, fin):
            return nextPayload(bytes, remaining: remaining, maskKey: maskKey, maskOffset: maskOffset, fin: fin)
        case let .failed(code, reason):
            return (.failure(code, reason: reason), 0)
        }
    }

    @inlinable
    mutating func fail(_ code: CloseCode, _ reason: StaticString) -> (event: DecodeEvent, consumed: Int) {
        state = .failed(code, reason: reason)
        return (.failure(code, reason: reason), 0)
    }

    @inlinable
    mutating func nextHeader(_ bytes: UnsafeMutableRawBufferPointer) -> (event: DecodeEvent, consumed: Int) {
        switch FrameHeaderParser.parse(UnsafeRawPointer(bytes.baseAddress), count: bytes.count, role: role) {
        case .needMore:
            return (.needMore, 0)
        case let .invalid(code, reason):
            return fail(code, reason)
        case let .header(header, headerLength):
            if header.opcode.isControl {
                return control(header, headerLength: headerLength, bytes)
            }
            return dataHeader(header, headerLength: headerLength)
        }
    }

    @inlinable
    mutating func dataHeader(_ header: FrameHeader, headerLength: Int) -> (event: DecodeEvent, consumed: Int) {
        if header.opcode == .continuation {
            guard fragmentedMessageOpen else {
                return fail(.protocolError, "continuation frame without a message in progress")
            }
            guard header.payloadLength <= maxMessageBytes - messageBytes else {
                return fail(.messageTooBig, "message exceeds the size limit")
            }
            messageBytes += header.payloadLength
        } else {
            guard !fragmentedMessageOpen else {
                return fail(.protocolError, "new data frame inside a fragmented message")
            }
            guard header.payloadLength <= maxMessageBytes else {
                return fail(.messageTooBig, "message exceeds the size limit")
            }
            messageBytes = header.payloadLength
            messageIsText = header.opcode == .text
            fragmentedMessageOpen = !header.fin
            if messageIsText { utf8.reset() }
        }
        state = .payload(remaining: header.payloadLength, maskKey: header.maskKey, maskOffset: 0, fin: header.fin)
        return (.dataHeader(header), headerLength)
    }

    @inlinable
    mutating func nextPayload(_ bytes: UnsafeMutableRawBufferPointer, remaining: Int, maskKey: UInt32?,
                              maskOffset: Int, fin: Bool) -> (event: DecodeEvent, consumed: Int) {
        let take = min(remaining, bytes.count)
        if take == 0 && remaining > 0 { return (.needMore, 0) }
        let chunk = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<take])
        if let key = maskKey, let base = chunk.baseAddress {
            Masking.apply(base, count: take, key: key, offset: maskOffset)
        }
        let frameEnd = take == remaining
        let messageEnd = frameEnd && fin
        if messageIsText {
            guard utf8.validate(UnsafeRawBufferPointer(chunk)) else {
                return fail(.invalidPayload, "invalid UTF-8 in text message")
            }
            if messageEnd && !utf8.isAtCodePointBoundary {
                return fail(.invalidPayload, "text message ends inside a UTF-8 sequence")
            }
        }
        if frameEnd {
            state = .awaitingHeader
            if fin { fragmentedMessageOpen = false }
        } else {
            state = .payload(remaining: remaining - take, maskKey: maskKey, maskOffset: (maskOffset + take) & 3, fin: fin)
        }
        return (.dataPayload(chunk, frameEnd: frameEnd, messageEnd: messageEnd), take)
    }

    @inlinable
    mutating func control(_ header: FrameHeader, headerLength: Int,
                          _ bytes: UnsafeMutableRawBufferPointer) -> (event: DecodeEvent, consumed: Int) {
        let total = headerLength + header.payloadLength
        guard bytes.count >= total else { return (.needMore, 0) }
        let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[headerLength..<total])
        if let key = header.maskKey, let base = payload.baseAddress {
            Masking.apply(base, count: payload.count, key: key, offset: 0)
        }
        if header.opcode == .close {
            if payload.count == 1 {
                return fail(.protocolError, "close frame payload of one byte")
            }
            let (code, reason) = ClosePayload.parse(UnsafeRawBufferPointer(payload))
            if let code = code, !CloseCode.isValidOnWire(code) {
                return fail(.protocolError, "close code not allowed on the wire")
            }
            var validator = UTF8Validator()
            guard validator.validate(reason), validator.isAtCodePointBoundary else {
                return fail(.invalidPayload, "invalid UTF-8 in close reason")
            }
        }
        return (.control(header, payload), total)
    }
}
