/// One result of `FrameDecoder.next`. Owns the contract between the decoder
/// and its caller: payload buffers point into the caller's own buffer (no
/// copies) and are valid until the caller drops or reuses those bytes.
public enum DecodeEvent {
    /// Not enough bytes for the next event (`consumed` is 0): call again with more.
    case needMore
    /// A validated text/binary/continuation frame header. One or more
    /// `.dataPayload` events follow for this frame. `maskKey` is as it was on
    /// the wire; the payload chunks are handed out already unmasked.
    case dataHeader(FrameHeader)
    /// The next chunk of the current data frame's payload, unmasked in place and,
    /// for text messages, UTF-8-checked. A zero-length frame yields exactly one
    /// empty chunk with `frameEnd: true`; no other chunk is ever empty.
    /// `messageEnd` is `frameEnd && fin`.
    case dataPayload(UnsafeMutableRawBufferPointer, frameEnd: Bool, messageEnd: Bool)
    /// A complete ping/pong/close frame, payload unmasked in place. Close
    /// payloads have been validated (length ≠ 1, code valid on the wire, UTF-8 reason).
    case control(FrameHeader, UnsafeMutableRawBufferPointer)
    /// A protocol violation: send a close with this code and drop the connection.
    /// The decoder stays failed and keeps returning this with `consumed` 0.
    /// The reason is a `StaticString` so the whole enum is trivial: no retain, release or
    /// outlined copy each time an event is returned on the relay path.
    case failure(CloseCode, reason: StaticString)
}
