/// One extra request header from `upstream.headers`, sent on every upstream
/// handshake. The name is an HTTP token; the value has no CR, LF or NUL.
public struct HeaderField: Equatable, Hashable, Sendable {
    /// Header name as configured (HTTP token, case preserved).
    public var name: String
    /// Header value as configured.
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

extension HeaderField {
    /// Headers Lifeline itself writes for the WebSocket handshake (§3); configuring them is an error.
    static let reservedNames: Set<String> = [
        "host", "connection", "upgrade", "content-length", "transfer-encoding",
        "sec-websocket-key", "sec-websocket-version", "sec-websocket-accept", "sec-websocket-extensions",
    ]

    /// `upstream.headers`: an object of string → string, returned sorted by name.
    static func list(from value: JSONValue?, path: String) throws -> [HeaderField] {
        guard let value else { return [] }
        guard case .object(let members) = value else {
            throw ConfigError.invalid(path, value, "must be an object of header name → string value")
        }
        var seen = Set<String>()
        var fields: [HeaderField] = []
        for (name, json) in members {
            let memberPath = path + "." + name
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
                throw ConfigError.invalid(memberPath, json, "header name must be an HTTP token")
            }
            guard !reservedNames.contains(name.lowercased()) else {
                throw ConfigError.invalid(memberPath, json, "header is set by Lifeline for the WebSocket handshake")
            }
            guard seen.insert(name.lowercased()).inserted else {
                throw ConfigError.invalid(memberPath, json, "duplicate header name (names are case-insensitive)")
            }
            guard case .string(let text) = json else { throw ConfigError.invalid(memberPath, json, "must be a string") }
            guard !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
                throw ConfigError.invalid(memberPath, json, "must not contain CR, LF or NUL")
            }
            fields.append(HeaderField(name: name, value: text))
        }
        return fields.sorted { $0.name < $1.name }
    }

    /// RFC 9110 tchar.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
