/// The fuzz targets of issue 7. Each `run` feeds one input to a parser through
/// its public entry points and checks invariants, throwing `InvariantViolation`
/// when one breaks. libFuzzer turns a violation into a crash (see `FuzzDriver`);
/// the unit tests and the replay runner report it.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `FrameDecoder` (both roles, several message limits) incl. the UTF-8 validator and fragments.
    case frameDecoder = "frame-decoder"
    /// `UpgradeRequestParser`, server side; plus the upstream request built from what it accepts.
    case requestParser = "request-parser"
    /// `UpgradeResponseParser`, client side.
    case responseParser = "response-parser"
    /// `Configuration.parse(json:environment:)` and the `effectiveJSON()` round trip.
    case config

    public func run(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) {
        switch self {
        case .frameDecoder: try FrameDecoderFuzz.run(input)
        case .requestParser: try RequestParserFuzz.run(input)
        case .responseParser: try ResponseParserFuzz.run(input)
        case .config: try ConfigFuzz.run(input)
        }
    }

    public func run(_ input: [UInt8]) throws(InvariantViolation) {
        // An exact-size heap copy, so AddressSanitizer sees any read past the end.
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: input.count, alignment: 1)
        defer { copy.deallocate() }
        copy.copyBytes(from: input)
        try run(UnsafeRawBufferPointer(copy))
    }
}

/// A broken invariant: what was expected and what happened.
public struct InvariantViolation: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Throws when `condition` is false.
@inline(__always)
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(InvariantViolation) {
    if !condition { throw InvariantViolation(message()) }
}

/// The bytes as hex, shortened, for violation messages.
func hex<C: Collection>(_ bytes: C, limit: Int = 64) -> String where C.Element == UInt8 {
    let digits = Array("0123456789abcdef")
    var out = ""
    for b in bytes.prefix(limit) { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return bytes.count > limit ? out + "...(\(bytes.count) bytes)" : out
}

/// A small deterministic PRNG (SplitMix64) seeded from the input, so any
/// "random" split a target makes is reproduced exactly by the same input.
struct SplitMix {
    var state: UInt64
    init(seed bytes: UnsafeRawBufferPointer) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        state = h
    }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

/// Reference checks written independently of LifelineCore (so they do not share its bugs).
enum Oracle {
    /// Is `bytes` valid UTF-8 (Swift's own validator)?
    static func isUTF8<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        String(validating: bytes, as: UTF8.self) != nil
    }

    /// Can `bytes` be extended to valid UTF-8 (valid, or valid up to an unfinished last code point)?
    static func isUTF8Prefix(_ bytes: [UInt8]) -> Bool {
        if isUTF8(bytes) { return true }
        // Try finishing an open sequence of 1-3 bytes at the end with continuation bytes.
        for tail in 1...3 where tail <= bytes.count {
            for second: UInt8 in [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF] {
                for total in (tail + 1)...4 {
                    var candidate = bytes
                    for i in tail..<total { candidate.append(i == 1 ? second : 0x80) }
                    if isUTF8(candidate) { return true }
                }
            }
        }
        return false
    }

    /// RFC 4648 base64 with padding, decoded strictly; nil when malformed.
    static func base64Decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt32? {
            switch c {
            case 65...90: return UInt32(c - 65)
            case 97...122: return UInt32(c - 71)
            case 48...57: return UInt32(c + 4)
            case 43: return 62
            case 47: return 63
            default: return nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            let last = i + 4 == chars.count
            let pad = last ? (chars[i + 3] == 61 ? (chars[i + 2] == 61 ? 2 : 1) : 0) : 0
            var n: UInt32 = 0
            for j in 0..<(4 - pad) {
                guard let v = value(chars[i + j]) else { return nil }
                n = n << 6 | v
            }
            n <<= UInt32(6 * pad)
            out.append(UInt8(n >> 16 & 0xFF))
            if pad < 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if pad < 1 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }

    /// RFC 9110 tchar.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }

    static func lowercasedASCII(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
