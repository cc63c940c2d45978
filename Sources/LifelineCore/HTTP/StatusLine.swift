/// The status line `HTTP/1.x SP 3DIGIT SP reason` (RFC 9112 §4). A missing space after the code
/// is tolerated when the reason is empty. HTTP/1.0 responses are accepted (for refusals).
struct StatusLine {
    var minorVersion: Int
    var status: Int
    var reason: String

    init?(_ line: [UInt8]) {
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, line.starts(with: prefix),
              let minor = Self.digit(line[7]), line[8] == HTTPSyntax.sp,
              let d0 = Self.digit(line[9]), let d1 = Self.digit(line[10]), let d2 = Self.digit(line[11]),
              d0 >= 1
        else { return nil }
        let reasonBytes = line.dropFirst(12)
        if let first = reasonBytes.first, first != HTTPSyntax.sp { return nil }
        let text = reasonBytes.dropFirst()
        guard text.allSatisfy(HTTPSyntax.isFieldValueByte) else { return nil }
        minorVersion = minor
        status = d0 * 100 + d1 * 10 + d2
        reason = String(decoding: text, as: UTF8.self)
    }

    private static func digit(_ b: UInt8) -> Int? {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) ? Int(b - UInt8(ascii: "0")) : nil
    }
}
