/// Serializes a message head: a start line, `Name: value` lines, and the blank line.
/// Refuses (skips) fields whose name is not a token or whose value holds CR, LF or NUL,
/// so nothing that reaches it can split a head.
struct HeadWriter {
    private(set) var bytes: [UInt8] = []

    init(startLine: String) {
        bytes.reserveCapacity(512)
        bytes.append(contentsOf: startLine.utf8)
        bytes.append(contentsOf: [HTTPSyntax.cr, HTTPSyntax.lf])
    }

    static func isSafe(_ header: HTTPHeader) -> Bool {
        HTTPSyntax.isToken(header.name.utf8) && header.value.utf8.allSatisfy(HTTPSyntax.isFieldValueByte)
    }

    /// Appends the field; returns false (writing nothing) when it is unsafe.
    @discardableResult
    mutating func add(_ name: String, _ value: String) -> Bool {
        add(HTTPHeader(name: name, value: value))
    }

    @discardableResult
    mutating func add(_ header: HTTPHeader) -> Bool {
        guard Self.isSafe(header) else { return false }
        bytes.append(contentsOf: header.name.utf8)
        bytes.append(contentsOf: ": ".utf8)
        bytes.append(contentsOf: header.value.utf8)
        bytes.append(contentsOf: [HTTPSyntax.cr, HTTPSyntax.lf])
        return true
    }

    /// The head with its terminating blank line, followed by `body`.
    func finish(body: [UInt8] = []) -> [UInt8] {
        var out = bytes
        out.append(contentsOf: [HTTPSyntax.cr, HTTPSyntax.lf])
        out.append(contentsOf: body)
        return out
    }
}
