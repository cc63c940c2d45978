import XCTest
@testable import LifelineCore

// Shared fixtures for the Replace* tests (upstream replacement parts): byte
// helpers, a seeded generator, sequence-numbered messages and a model of what
// the runtime does with a StreamSplice.

/// SplitMix64: a small seeded generator so every randomized test is repeatable.
struct ReplaceRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The broadcast message number `n`: `{"seq":n}`.
func replaceSeq(_ n: Int) -> [UInt8] { Array("{\"seq\":\(n)}".utf8) }

/// `bytes` as text (lossy), for readable assertion messages.
func replaceText(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// The whole-message MessageHasher hash of `bytes`.
func replaceHash(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { MessageHasher.hash($0) } }

extension ReplayMemory {
    mutating func remember(_ opcode: Opcode, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { remember(opcode: opcode, payload: $0) }
    }

    mutating func remember(text: String) -> Int { remember(.text, Array(text.utf8)) }

    /// Everything remembered, oldest first, copied out.
    var messages: [(opcode: Opcode, bytes: [UInt8])] {
        var all: [(opcode: Opcode, bytes: [UInt8])] = []
        forEach { opcode, payload in all.append((opcode, Array(payload))) }
        return all
    }

    /// The remembered text messages as strings, oldest first.
    var texts: [String] { messages.map { replaceText($0.bytes) } }
}

extension MessageMatcher {
    func matches(_ text: String) -> Bool { matches(Array(text.utf8)) }
    func matches(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { matches($0) } }
}

/// What the runtime does around a StreamSplice during a hand-over: it relays
/// old's messages until the switch (discarding its held copy when told), keeps
/// the bytes of held messages from new in a queue, relays new's from the switch
/// on, drops old's after it, and settles the held queue when old closes.
/// `app` is the stream the app receives.
struct SpliceRuntimeModel {
    var splice: StreamSplice
    private(set) var held: [[UInt8]] = []
    private(set) var app: [[UInt8]] = []
    private(set) var oldIsOpen = true
    /// Where the app stream stopped coming from old (set at the switch).
    private(set) var oldRelayed = 0

    init(window: Int) { splice = StreamSplice(window: window) }

    /// The app stream as text, for comparisons.
    var appTexts: [String] { app.map(replaceText) }

    mutating func fromOld(_ bytes: [UInt8]) {
        precondition(oldIsOpen, "a closed connection delivers nothing")
        guard !splice.hasSwitched else { return }  // the runtime is closing old
        switch splice.oldMessage(hash: replaceHash(bytes), length: bytes.count) {
        case .relay:
            app.append(bytes)
        case .relayAndDiscardHeldHead:
            XCTAssertEqual(held.first, bytes, "the discarded held head has old's bytes")
            held.removeFirst()
            app.append(bytes)
        }
        oldRelayed += 1
    }

    mutating func fromNew(_ bytes: [UInt8]) {
        guard !splice.hasSwitched else {
            app.append(bytes)
            return
        }
        switch splice.newMessage(hash: replaceHash(bytes), length: bytes.count) {
        case .drop:
            break
        case .hold:
            held.append(bytes)
        case .switchNow:
            XCTAssertTrue(held.isEmpty, "nothing is held at a switch")
            app.append(contentsOf: held)
            held.removeAll()
            app.append(bytes)
        }
    }

    /// New dies during the overlap (old stays the stream).
    mutating func closeNew() { splice.newClosed() }

    /// The reconnect takes the dead new connection's place.
    mutating func openNew() { splice.newOpened() }

    /// The runtime closes old (drain timeout) or old dies.
    mutating func closeOld() {
        oldIsOpen = false
        var verdicts: [Bool] = []
        splice.oldClosed { verdicts.append($0) }
        XCTAssertEqual(verdicts.count, held.count, "oldClosed settles every held message")
        for (bytes, relay) in zip(held, verdicts) where relay { app.append(bytes) }
        held.removeAll()
    }
}

/// `{"seq":n}` for n in `range`, as text.
func replaceSeqTexts(_ range: ClosedRange<Int>) -> [String] { range.map { replaceText(replaceSeq($0)) } }
