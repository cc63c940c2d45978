/// Incremental UTF-8 validator (Unicode Table 3-7). Owns the decoding state
/// carried between chunks, so a code point may be split across reads and
/// fragments. Fails at the first byte that proves the input invalid: overlong
/// forms, surrogates D800–DFFF, code points above U+10FFFF, stray or missing
/// continuation bytes, and C0/C1/F5–FF. Runs of ASCII are skipped 128, 16, then 8 bytes at a time.
public struct UTF8Validator {
    /// What the next byte must be.
    @usableFromInline
    enum State: UInt8 {
        case boundary   // any lead byte or ASCII
        case tail1      // one more 80–BF
        case tail2      // two more 80–BF
        case tail3      // three more 80–BF
        case afterE0    // A0–BF, then one more (no overlong 3-byte forms)
        case afterED    // 80–9F, then one more (no surrogates)
        case afterF0    // 90–BF, then two more (no overlong 4-byte forms)
        case afterF4    // 80–8F, then two more (nothing above U+10FFFF)
        case invalid
    }

    @usableFromInline
    var state: State = .boundary

    @inlinable
    public init() {}

    /// True when no multi-byte sequence is open (and nothing invalid was seen).
    @inlinable
    public var isAtCodePointBoundary: Bool { state == .boundary }

    /// Forgets all state, ready for the next message.
    @inlinable
    public mutating func reset() { state = .boundary }

    /// Feeds the next chunk. Returns false as soon as the bytes so far cannot be
    /// a prefix of valid UTF-8; stays false until `reset()`.
    @inlinable
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state != .invalid else { return false }
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var s = state
        var i = 0
        while i < count {
            if s == .boundary {
                // 128 bytes per test, then 16: text is mostly ASCII, and this loop is most of
                // the relay's user-space work for text messages (see bench/RESULTS.md, profile).
                // (Written as one `|` expression: `|=` on SIMD values is not vectorised.)
                while i &+ 128 <= count {
                    let low = base.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
                        | base.loadUnaligned(fromByteOffset: i &+ 16, as: SIMD16<UInt8>.self)
                        | base.loadUnaligned(fromByteOffset: i &+ 32, as: SIMD16<UInt8>.self)
                        | base.loadUnaligned(fromByteOffset: i &+ 48, as: SIMD16<UInt8>.self)
                    let high = base.loadUnaligned(fromByteOffset: i &+ 64, as: SIMD16<UInt8>.self)
                        | base.loadUnaligned(fromByteOffset: i &+ 80, as: SIMD16<UInt8>.self)
                        | base.loadUnaligned(fromByteOffset: i &+ 96, as: SIMD16<UInt8>.self)
                        | base.loadUnaligned(fromByteOffset: i &+ 112, as: SIMD16<UInt8>.self)
                    if UTF8Validator.hasNonASCII(low | high) { break }
                    i &+= 128
                }
                while i &+ 16 <= count,
                      !UTF8Validator.hasNonASCII(base.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)) {
                    i &+= 16
                }
                while i &+ 8 <= count,
                      base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i &+= 8
                }
                if i == count { break }
            }
            let byte = base.load(fromByteOffset: i, as: UInt8.self)
            i &+= 1
            s = UTF8Validator.step(s, byte)
            if s == .invalid {
                state = .invalid
                return false
            }
        }
        state = s
        return true
    }

    /// True when any of the 16 bytes has its top bit set.
    @inlinable @inline(__always)
    static func hasNonASCII(_ vector: SIMD16<UInt8>) -> Bool {
        let halves = unsafeBitCast(vector, to: (UInt64, UInt64).self)
        return (halves.0 | halves.1) & 0x8080_8080_8080_8080 != 0
    }

    /// The transition function.
    @inlinable
    static func step(_ s: State, _ byte: UInt8) -> State {
        let isContinuation = byte & 0xC0 == 0x80
        switch s {
        case .boundary:
            switch byte {
            case 0x00...0x7F: return .boundary
            case 0xC2...0xDF: return .tail1
            case 0xE0: return .afterE0
            case 0xED: return .afterED
            case 0xE1...0xEF: return .tail2
            case 0xF0: return .afterF0
            case 0xF1...0xF3: return .tail3
            case 0xF4: return .afterF4
            default: return .invalid  // 80–C1, F5–FF
            }
        case .tail1: return isContinuation ? .boundary : .invalid
        case .tail2: return isContinuation ? .tail1 : .invalid
        case .tail3: return isContinuation ? .tail2 : .invalid
        case .afterE0: return (0xA0...0xBF).contains(byte) ? .tail1 : .invalid
        case .afterED: return (0x80...0x9F).contains(byte) ? .tail1 : .invalid
        case .afterF0: return (0x90...0xBF).contains(byte) ? .tail2 : .invalid
        case .afterF4: return (0x80...0x8F).contains(byte) ? .tail2 : .invalid
        case .invalid: return .invalid
        }
    }
}
