/// The `limits` section: message size cap and per-direction buffering bound.
public struct LimitsSettings: Equatable, Sendable {
    /// Largest message in bytes; larger ones close the connection with 1009.
    public var maxMessageBytes: Int
    /// Bytes buffered per direction per session before Lifeline stops reading the sender.
    public var maxBufferedBytes: Int

    public init(maxMessageBytes: Int = 16 * 1024 * 1024, maxBufferedBytes: Int = 4 * 1024 * 1024) {
        self.maxMessageBytes = maxMessageBytes
        self.maxBufferedBytes = maxBufferedBytes
    }
}

extension LimitsSettings {
    static let maxMessageBytesRange = NumberRange(125, 2_147_483_648)
    static let maxBufferedBytesRange = NumberRange(65536, 1_073_741_824)

    init(from object: ConfigObject?) throws {
        self.init()
        guard let object else { return }
        maxMessageBytes = try object.int("max_message_bytes", Self.maxMessageBytesRange, default: maxMessageBytes)
        maxBufferedBytes = try object.int("max_buffered_bytes", Self.maxBufferedBytesRange, default: maxBufferedBytes)
    }

    var json: JSONValue {
        .object([("max_message_bytes", .number(maxMessageBytes)), ("max_buffered_bytes", .number(maxBufferedBytes))])
    }
}
