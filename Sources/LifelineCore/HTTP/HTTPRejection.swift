/// Why a request was refused: the status to answer with, a short reason (for logs and the
/// body), and the metric reason (`lifeline_rejected_inputs_total{side="downstream"}`).
public struct HTTPRejection: Equatable, Error {
    public var status: Int
    public var reason: String
    public var input: RejectedInput
    /// Headers the refusal must carry, e.g. `Upgrade`/`Sec-WebSocket-Version` on a 426.
    public var extraHeaders: [HTTPHeader]

    public init(status: Int, reason: String, input: RejectedInput, extraHeaders: [HTTPHeader] = []) {
        self.status = status
        self.reason = reason
        self.input = input
        self.extraHeaders = extraHeaders
    }

    static func badRequest(_ input: RejectedInput, _ reason: String) -> HTTPRejection {
        HTTPRejection(status: 400, reason: reason, input: input)
    }

    static func tooLarge(_ input: RejectedInput, _ reason: String) -> HTTPRejection {
        HTTPRejection(status: 431, reason: reason, input: input)
    }

    /// 426 telling the client to speak WebSocket version 13.
    static func upgradeRequired(_ reason: String, full: Bool) -> HTTPRejection {
        let version = HTTPHeader(name: "Sec-WebSocket-Version", value: "13")
        let headers = full
            ? [HTTPHeader(name: "Upgrade", value: "websocket"), HTTPHeader(name: "Connection", value: "Upgrade"), version]
            : [version]
        return HTTPRejection(status: 426, reason: reason, input: .notWebSocket, extraHeaders: headers)
    }
}
