/// Turns one log event into one line (with its "\n"), spec §7:
/// json: `{"ts":"…","level":"info","event":"listening","address":"127.0.0.1:8080"}`;
/// text: `2026-11-22T21:04:05.123Z INFO  listening address=127.0.0.1:8080`.
/// Fields keep the caller's order; strings are JSON-escaped.
enum LogLineFormatter {
    static func line(format: LogFormat, timestamp: String, level: LogLevel, event: String,
                     fields: KeyValuePairs<String, LogValue>) -> String {
        var out = ""
        out.reserveCapacity(96 + event.utf8.count)
        switch format {
        case .json:
            out += "{\"ts\":\"" + timestamp + "\",\"level\":\"" + level.name + "\",\"event\":"
            out += JSONWriter.quoted(event)
            for (key, value) in fields {
                out += "," + JSONWriter.quoted(key) + ":"
                appendJSON(value, to: &out)
            }
            out += "}\n"
        case .text:
            out += timestamp + " " + label(level) + " " + event
            for (key, value) in fields {
                out += " " + key + "="
                appendText(value, to: &out)
            }
            out += "\n"
        }
        return out
    }

    /// Upper-case level padded to five columns: "INFO ", "ERROR".
    static func label(_ level: LogLevel) -> String {
        switch level {
        case .debug: return "DEBUG"
        case .info: return "INFO "
        case .warn: return "WARN "
        case .error: return "ERROR"
        }
    }

    private static func appendJSON(_ value: LogValue, to out: inout String) {
        switch value {
        case .string(let text): out += JSONWriter.quoted(text)
        case .int(let number): out += String(number)
        case .double(let number): out += number.isFinite ? "\(number)" : "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .null: out += "null"
        }
    }

    /// Strings stay bare unless empty or holding spaces, quotes, `=`, `\` or
    /// control characters; then they are JSON-quoted so a line stays one line.
    private static func appendText(_ value: LogValue, to out: inout String) {
        guard case .string(let text) = value else {
            switch value {
            case .int(let number): out += String(number)
            case .double(let number): out += "\(number)"
            case .bool(let flag): out += flag ? "true" : "false"
            default: out += "null"
            }
            return
        }
        let needsQuotes = text.isEmpty || text.unicodeScalars.contains {
            $0.value <= 0x20 || $0.value == 0x7F || $0 == "\"" || $0 == "=" || $0 == "\\"
        }
        out += needsQuotes ? JSONWriter.quoted(text) : text
    }
}
