/// Why a request was refused: the status to answer with and a short reason (for logs and the body).
public struct HTTPRejection: Equatable, Error {
    public var status: Int
    public var reason: String
    /// Headers the refusal must carry, e.g. `Upgrade`/`Sec-WebSocket-Version` on a 426.
    public var extraHeaders: [HTTPHeader]

    public init(status: Int, reason: String, extraHeaders: [HTTPHeader] = []) {
        self.status = status
        self.reason = reason
        self.extraHeaders = extraHeaders
    }

    static func badRequest(_ reason: String) -> HTTPRejection {
        HTTPRejection(status: 400, reason: reason)
    }

    static func tooLarge(_ reason: String) -> HTTPRejection {
        HTTPRejection(status: 431, reason: reason)
    }

    /// 426 telling the client to speak WebSocket version 13.
    static func upgradeRequired(_ reason: String, full: Bool) -> HTTPRejection {
        let version = HTTPHeader(name: "Sec-WebSocket-Version", value: "13")
        let headers = full
            ? [HTTPHeader(name: "Upgrade", value: "websocket"), HTTPHeader(name: "Connection", value: "Upgrade"), version]
            : [version]
        return HTTPRejection(status: 426, reason: reason, extraHeaders: headers)
    }
}
