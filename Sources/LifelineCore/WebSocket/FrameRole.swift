/// Which end of the connection the decoder sits at; owns the masking
/// direction rule of RFC 6455 §5.1.
public enum FrameRole {
    /// We accepted the connection: every frame from the peer MUST be masked.
    case server
    /// We opened the connection: frames from the peer MUST NOT be masked.
    case client

    /// Whether frames arriving from the peer must carry a mask key.
    @inlinable
    public var peerMustMask: Bool { self == .server }
}
