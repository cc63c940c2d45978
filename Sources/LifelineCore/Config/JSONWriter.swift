/// Renders `JSONValue`s as text: compact (for echoing a bad value in an error
/// message) or pretty with two-space indentation (for `--check-config`).
enum JSONWriter {
    /// One-line JSON, `{"a":1,"b":[true,null]}`.
    static func compact(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out, indent: nil)
        return out
    }

    /// Multi-line JSON with two-space indentation and `"key": value` members.
    static func pretty(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out, indent: 0)
        return out
    }

    /// `text` as a JSON string literal: quotes, backslash and control
    /// characters escaped (`\n`, `\t`, ... or `\u00XX`); everything else as is.
    static func quoted(_ text: String) -> String {
        var out = "\""
        appendEscaped(text, to: &out)
        out += "\""
        return out
    }

    /// Appends the escaped body of a JSON string literal (without the quotes).
    static func appendEscaped(_ text: String, to out: inout String) {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    appendUnicodeEscape(scalar, to: &out)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }

    /// Appends `scalar` as `\uXXXX` (lower-case hex), a surrogate pair above U+FFFF.
    static func appendUnicodeEscape(_ scalar: Unicode.Scalar, to out: inout String) {
        for unit in String(scalar).utf16 {
            let hex = String(unit, radix: 16, uppercase: false)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }

    private static func write(_ value: JSONValue, into out: inout String, indent: Int?) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(_, let text): out += text
        case .string(let s): out += quoted(s)
        case .array(let items):
            writeContainer(items.map { (nil as String?, $0) }, open: "[", close: "]", into: &out, indent: indent)
        case .object(let members):
            writeContainer(members.map { (Optional($0.key), $0.value) }, open: "{", close: "}", into: &out, indent: indent)
        }
    }

    private static func writeContainer(_ items: [(String?, JSONValue)], open: String, close: String,
                                       into out: inout String, indent: Int?) {
        out += open
        guard !items.isEmpty else { out += close; return }
        let inner = indent.map { $0 + 2 }
        for (index, (key, value)) in items.enumerated() {
            if index > 0 { out += "," }
            if let inner { out += "\n" + String(repeating: " ", count: inner) }
            if let key { out += quoted(key) + (indent == nil ? ":" : ": ") }
            write(value, into: &out, indent: inner)
        }
        if let indent { out += "\n" + String(repeating: " ", count: indent) }
        out += close
    }
}
