/// Where the WebSocket close handshake stands on each side of a session: which close
/// frames have been sent and received. A side's handshake is complete when both
/// happened; its TCP connection may then be closed. Pure value, no I/O.
struct CloseHandshake: Equatable {
    var sentToApp = false
    var receivedFromApp = false
    var sentToUpstream = false
    var receivedFromUpstream = false

    var hasStarted: Bool { sentToApp || receivedFromApp || sentToUpstream || receivedFromUpstream }
    var appComplete: Bool { sentToApp && receivedFromApp }
    var upstreamComplete: Bool { sentToUpstream && receivedFromUpstream }
}
