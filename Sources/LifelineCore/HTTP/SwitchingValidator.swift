/// Checks that a 101 from upstream really completes the WebSocket handshake we started
/// (RFC 6455 §4.1): HTTP/1.1, Upgrade websocket, Connection upgrade, the expected
/// Sec-WebSocket-Accept, no extension (we offer none), and at most one subprotocol we offered.
enum SwitchingValidator {
    /// nil when valid, else why not.
    static func problem(with response: UpgradeResponse, expectedAccept: String, offeredProtocols: [String]) -> String? {
        let h = response.headers
        if response.minorVersion < 1 { return "101 on HTTP/1.0" }
        if !h.containsToken("websocket", in: "Upgrade") { return "101 without Upgrade: websocket" }
        if !h.containsToken("upgrade", in: "Connection") { return "101 without Connection: upgrade" }
        let accepts = h.all(named: "Sec-WebSocket-Accept")
        if accepts.count != 1 || accepts[0] != expectedAccept { return "wrong Sec-WebSocket-Accept" }
        if !h.listElements(named: "Sec-WebSocket-Extensions").isEmpty { return "upstream negotiated an extension we did not offer" }
        let protocols = h.all(named: "Sec-WebSocket-Protocol")
        if protocols.count > 1 { return "more than one Sec-WebSocket-Protocol" }
        if protocols.count == 1 {
            guard let chosen = response.subprotocol, offeredProtocols.contains(chosen) else {
                return "upstream chose a subprotocol we did not offer"
            }
        }
        return nil
    }
}
