/// How numbers and label values are spelled in the Prometheus text format. Owns the rules:
/// integers plain, other floats in shortest round-trip decimal without an exponent,
/// `NaN`/`+Inf`/`-Inf`, and the escapes for label values and HELP text.
enum MetricValueFormat {
    /// Largest magnitude below which every integer is exact in a Double.
    private static let exactIntegerLimit = 9_007_199_254_740_992.0

    static func format(_ value: Int) -> String { String(value) }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == value.rounded(.towardZero) && abs(value) < exactIntegerLimit {
            return String(Int64(value))   // also turns -0.0 into "0"
        }
        return withoutExponent(value.description)
    }

    /// Rewrites Swift's `1.5e-05` / `1.2e+16` as plain decimals; other text passes through.
    static func withoutExponent(_ text: String) -> String {
        guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }),
              let exponent = Int(text[text.index(after: e)...]) else { return text }
        var mantissa = Substring(text[..<e])
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa = mantissa.dropFirst() }
        let point = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        let digits = Array(mantissa.filter { $0 != "." })
        let newPoint = point + exponent
        let body: String
        if newPoint <= 0 {
            body = "0." + String(repeating: "0", count: -newPoint) + String(digits)
        } else if newPoint >= digits.count {
            body = String(digits) + String(repeating: "0", count: newPoint - digits.count)
        } else {
            body = String(digits[..<newPoint]) + "." + String(digits[newPoint...])
        }
        return negative ? "-" + body : body
    }

    /// A label value with `\`, `"` and newline escaped.
    static func escapeLabelValue(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// HELP text with `\` and newline escaped.
    static func escapeHelp(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }
}
