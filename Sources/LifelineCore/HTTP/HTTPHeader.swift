/// One header field as received (name case preserved).
public struct HTTPHeader: Equatable, Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Case-insensitive lookups over a header list, shared by requests and responses.
extension Array where Element == HTTPHeader {
    /// The first field named `name` (ASCII case-insensitive), if any.
    func first(named name: String) -> String? {
        first { HTTPSyntax.equalsIgnoringCase($0.name, name) }?.value
    }

    /// Every field named `name`, in arrival order.
    func all(named name: String) -> [String] {
        filter { HTTPSyntax.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// How many fields are named `name`.
    func count(named name: String) -> Int {
        reduce(0) { HTTPSyntax.equalsIgnoringCase($1.name, name) ? $0 + 1 : $0 }
    }

    /// The comma-separated list elements of every field named `name`, trimmed, empties dropped.
    func listElements(named name: String) -> [String] {
        all(named: name).flatMap(HTTPSyntax.listElements)
    }

    /// Whether the list header `name` contains `token` (ASCII case-insensitive).
    func containsToken(_ token: String, in name: String) -> Bool {
        listElements(named: name).contains { HTTPSyntax.equalsIgnoringCase($0, token) }
    }
}
