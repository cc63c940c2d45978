/// Builds the upstream request (client side).
public enum UpstreamRequestBuilder {
    /// Fields Lifeline sets itself; neither forwarded from the client nor overridable by config.
    static let handshakeFields = [
        "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
        "Sec-WebSocket-Accept", "Sec-WebSocket-Extensions", "Content-Length", "Transfer-Encoding",
    ]

    /// `GET {target} HTTP/1.1` + Host: hostHeader, Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key: key, Sec-WebSocket-Version: 13,
    /// then the request's end-to-end headers in order (dropping: Host, Connection, Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding, Upgrade, Content-Length, any header named in the request's Connection header, Sec-WebSocket-Key/-Accept/-Extensions/-Version, X-Forwarded-For, X-Forwarded-Proto),
    /// X-Forwarded-For (existing values, joined by ", ", + ", " + clientAddress, else clientAddress; a value is not kept if Connection names the field), X-Forwarded-Proto: clientProto ("http" or "https"),
    /// then extraHeaders (config `upstream.headers`), which replace forwarded headers of the same name (case-insensitive),
    /// X-Forwarded-For/-Proto included. Extra headers naming a handshake field (Host, Upgrade, Connection, Sec-WebSocket-*,
    /// Content-Length, Transfer-Encoding), with a non-token name, or with CR/LF/NUL in the value are skipped (the caller validates config).
    public static func build(request: UpgradeRequest, target: String, hostHeader: String, key: String,
                             clientAddress: String, clientProto: String, extraHeaders: [HTTPHeader]) -> [UInt8] {
        var head = HeadWriter(startLine: "GET \(target) HTTP/1.1")
        head.add("Host", hostHeader)
        head.add("Upgrade", "websocket")
        head.add("Connection", "Upgrade")
        head.add("Sec-WebSocket-Key", key)
        head.add("Sec-WebSocket-Version", "13")

        let extras = extraHeaders.filter { extra in
            HeadWriter.isSafe(extra) && !handshakeFields.contains { HTTPSyntax.equalsIgnoringCase($0, extra.name) }
        }
        let overridden = Set(extras.map { $0.name.lowercased() })
        let dropped = HopByHop.names(in: request.headers, also: handshakeFields + ["X-Forwarded-For", "X-Forwarded-Proto"])

        let connectionNamed = Set(request.headers.listElements(named: "Connection").map { $0.lowercased() })
        var priorFor: [String] = []
        for header in request.headers {
            let name = header.name.lowercased()
            if name == "x-forwarded-for" && !connectionNamed.contains(name) && !header.value.isEmpty {
                priorFor.append(header.value)
            }
            if dropped.contains(name) || overridden.contains(name) { continue }
            head.add(header)
        }
        if !overridden.contains("x-forwarded-for") {
            head.add("X-Forwarded-For", (priorFor + [clientAddress]).joined(separator: ", "))
        }
        if !overridden.contains("x-forwarded-proto") {
            head.add("X-Forwarded-Proto", clientProto)
        }
        for extra in extras { head.add(extra) }
        return head.finish()
    }
}
