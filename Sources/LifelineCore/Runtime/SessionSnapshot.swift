/// One session as `/connections` shows it (spec §5): taken on the worker's loop,
/// rendered to JSON on the admin loop.
public struct SessionSnapshot: Sendable {
    public var id: UInt64
    public var client: String
    public var ageSeconds: Double
    public var downstreamState: String
    public var downstreamMissedPongs: Int
    public var downstreamRTTSeconds: Double?
    public var upstreamAgeSeconds: Double?
    public var upstreamState: String
    public var upstreamMissedPongs: Int
    public var upstreamRTTSeconds: Double?
    public var rotations: Int
    public var messagesUp: Int
    public var messagesDown: Int

    /// The JSON object, keys in a fixed order.
    public var json: String {
        func number(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "null" }
            return String((value * 1_000_000).rounded() / 1_000_000)
        }
        return "{\"id\":\(id),\"client\":\"\(client)\",\"age_seconds\":\(number(ageSeconds)),"
            + "\"downstream\":{\"state\":\"\(downstreamState)\",\"missed_pongs\":\(downstreamMissedPongs),\"last_rtt_seconds\":\(number(downstreamRTTSeconds))},"
            + "\"upstream\":{\"state\":\"\(upstreamState)\",\"age_seconds\":\(number(upstreamAgeSeconds)),\"missed_pongs\":\(upstreamMissedPongs),\"last_rtt_seconds\":\(number(upstreamRTTSeconds))},"
            + "\"rotations\":\(rotations),\"messages\":{\"up\":\(messagesUp),\"down\":\(messagesDown)}}"
    }

    public static func jsonArray(_ sessions: [SessionSnapshot]) -> String {
        "[" + sessions.sorted { $0.id < $1.id }.map(\.json).joined(separator: ",") + "]\n"
    }
}
