import XCTest
@testable import LifelineCore

/// ReplayMemory: the replay modes, the count and byte bounds with oldest-first
/// dropping, and byte-exact contents across many ring wrap-arounds.
final class ReplaceReplayMemoryTests: XCTestCase {
    private func memory(_ mode: ReplayMode = .all, match: String? = nil, messages: Int = 64,
                        bytes: Int = 65536) throws -> ReplayMemory {
        let matcher = try match.map { try MessageMatcher(pattern: $0) }
        return ReplayMemory(settings: ReplaySettings(mode: mode, match: match, maxMessages: messages, maxBytes: bytes),
                            matcher: matcher)
    }

    func testModeAllRemembersTextAndBinaryInOrder() throws {
        var replay = try memory()
        XCTAssertEqual(replay.remember(text: "subscribe a"), 0)
        XCTAssertEqual(replay.remember(.binary, [0, 1, 2, 0xFF]), 0)
        XCTAssertEqual(replay.remember(text: "subscribe b"), 0)
        XCTAssertEqual(replay.count, 3)
        XCTAssertEqual(replay.byteCount, 11 + 4 + 11)
        let messages = replay.messages
        XCTAssertEqual(messages.map(\.opcode), [.text, .binary, .text])
        XCTAssertEqual(messages.map(\.bytes), [Array("subscribe a".utf8), [0, 1, 2, 0xFF], Array("subscribe b".utf8)])
    }

    func testModeNoneRemembersNothingAndDropsNothing() throws {
        var replay = try memory(.none)
        XCTAssertEqual(replay.remember(text: "subscribe"), 0)
        XCTAssertEqual(replay.remember(.binary, [1, 2]), 0)
        XCTAssertEqual(replay.count, 0)
        XCTAssertEqual(replay.byteCount, 0)
        XCTAssertTrue(replay.messages.isEmpty)
    }

    func testModeMatchRemembersOnlyMatchingTextMessages() throws {
        var replay = try memory(.match, match: "\"method\":\"(SUBSCRIBE|LOGIN)\"")
        XCTAssertEqual(replay.remember(text: #"{"method":"SUBSCRIBE","params":["a"]}"#), 0)
        XCTAssertEqual(replay.remember(text: #"{"method":"PING"}"#), 0)
        XCTAssertEqual(replay.remember(.binary, Array(#"{"method":"LOGIN"}"#.utf8)), 0, "binary never matches")
        XCTAssertEqual(replay.remember(text: #"{"method":"LOGIN"}"#), 0)
        XCTAssertEqual(replay.texts, [#"{"method":"SUBSCRIBE","params":["a"]}"#, #"{"method":"LOGIN"}"#])
    }

    func testModeMatchWithALiteralPattern() throws {
        var replay = try memory(.match, match: "subscribe")
        _ = replay.remember(text: "please subscribe me")
        _ = replay.remember(text: "unrelated")
        XCTAssertEqual(replay.texts, ["please subscribe me"])
    }

    func testModeMatchWithoutAMatcherRemembersNothing() {
        var replay = ReplayMemory(settings: ReplaySettings(mode: .match, match: "x"), matcher: nil)
        XCTAssertEqual(replay.remember(text: "x"), 0)
        XCTAssertEqual(replay.count, 0)
    }

    func testControlOpcodesAreNotMessages() throws {
        var replay = try memory()
        for opcode in [Opcode.ping, .pong, .close, .continuation] {
            XCTAssertEqual(replay.remember(opcode, [1]), 0)
        }
        XCTAssertEqual(replay.count, 0)
    }

    func testCountBoundDropsOldestFirst() throws {
        var replay = try memory(messages: 3)
        XCTAssertEqual(replay.remember(text: "m1"), 0)
        XCTAssertEqual(replay.remember(text: "m2"), 0)
        XCTAssertEqual(replay.remember(text: "m3"), 0)
        XCTAssertEqual(replay.remember(text: "m4"), 1)
        XCTAssertEqual(replay.remember(text: "m5"), 1)
        XCTAssertEqual(replay.texts, ["m3", "m4", "m5"])
        XCTAssertEqual(replay.count, 3)
        XCTAssertEqual(replay.byteCount, 6)
    }

    func testByteBoundDropsAsManyOldestAsNeeded() throws {
        var replay = try memory(bytes: 10)
        XCTAssertEqual(replay.remember(text: "aaa"), 0)
        XCTAssertEqual(replay.remember(text: "bbb"), 0)
        XCTAssertEqual(replay.remember(text: "cccc"), 0)
        XCTAssertEqual(replay.byteCount, 10)
        XCTAssertEqual(replay.remember(text: "d"), 1, "3 + 4 + 1 fits once aaa is gone")
        XCTAssertEqual(replay.texts, ["bbb", "cccc", "d"])
        XCTAssertEqual(replay.remember(text: "eeeeeeeee"), 2, "9 bytes need bbb and cccc gone, d stays")
        XCTAssertEqual(replay.texts, ["d", "eeeeeeeee"])
        XCTAssertEqual(replay.byteCount, 10, "exactly at the bound")
        XCTAssertEqual(replay.remember(text: "ffffffffff"), 2, "10 bytes alone fill the memory")
        XCTAssertEqual(replay.texts, ["ffffffffff"])
    }

    func testBothBoundsTogether() throws {
        var replay = try memory(messages: 2, bytes: 8)
        XCTAssertEqual(replay.remember(text: "12345"), 0)
        XCTAssertEqual(replay.remember(text: "12"), 0)
        XCTAssertEqual(replay.remember(text: "x"), 1, "count bound")
        XCTAssertEqual(replay.texts, ["12", "x"])
        XCTAssertEqual(replay.remember(text: "1234567"), 1, "the count bound frees enough bytes")
        XCTAssertEqual(replay.texts, ["x", "1234567"])
        XCTAssertEqual(replay.remember(text: "12345678"), 2, "count bound, then byte bound")
        XCTAssertEqual(replay.texts, ["12345678"])
    }

    func testMessageLargerThanMaxBytesIsNotRememberedAndKeepsTheOthers() throws {
        var replay = try memory(bytes: 10)
        _ = replay.remember(text: "keep")
        XCTAssertEqual(replay.remember(text: "eleven byte"), 1)
        XCTAssertEqual(replay.texts, ["keep"])
        XCTAssertEqual(replay.byteCount, 4)
        XCTAssertEqual(replay.remember(text: "ten bytes!"), 1, "10 bytes fit alone: keep is dropped")
        XCTAssertEqual(replay.texts, ["ten bytes!"])
    }

    func testZeroBoundsRememberNothingAndCountEachAsDropped() throws {
        var noMessages = try memory(messages: 0)
        XCTAssertEqual(noMessages.remember(text: "a"), 1)
        XCTAssertEqual(noMessages.count, 0)
        var noBytes = try memory(bytes: 0)
        XCTAssertEqual(noBytes.remember(text: "a"), 1)
        XCTAssertEqual(noBytes.remember(text: ""), 0, "an empty message costs no bytes")
        XCTAssertEqual(noBytes.texts, [""])
    }

    func testEmptyMessagesAreRememberedInOrder() throws {
        var replay = try memory(messages: 3, bytes: 4)
        _ = replay.remember(text: "ab")
        _ = replay.remember(.binary, [])
        _ = replay.remember(text: "cd")
        XCTAssertEqual(replay.remember(text: ""), 1)
        XCTAssertEqual(replay.messages.map(\.opcode), [.binary, .text, .text])
        XCTAssertEqual(replay.texts, ["", "cd", ""])
    }

    func testRemoveAllForgetsAndTheMemoryIsReusable() throws {
        var replay = try memory(messages: 4, bytes: 16)
        for n in 0..<10 { _ = replay.remember(text: "m\(n)") }
        replay.removeAll()
        XCTAssertEqual(replay.count, 0)
        XCTAssertEqual(replay.byteCount, 0)
        XCTAssertTrue(replay.messages.isEmpty)
        XCTAssertEqual(replay.remember(text: "again"), 0)
        XCTAssertEqual(replay.texts, ["again"])
    }

    /// Thousands of messages of varied sizes through a small memory: the ring
    /// wraps many times and the contents always equal a plain reference model.
    func testManyWrapAroundsKeepExactBytesAndOrder() throws {
        var random = ReplaceRandom(seed: 7)
        var replay = try memory(messages: 50, bytes: 1000)
        var reference: [(Opcode, [UInt8])] = []
        var referenceBytes = 0
        for n in 0..<5000 {
            let length = Int.random(in: 0...(n % 97 == 0 ? 1000 : 120), using: &random)
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: n &* 31 &+ $0 &* 7) }
            let opcode: Opcode = n % 3 == 0 ? .binary : .text
            var expectedDrops = 0
            while reference.count >= 50 || referenceBytes + length > 1000 {
                referenceBytes -= reference.removeFirst().1.count
                expectedDrops += 1
            }
            reference.append((opcode, bytes))
            referenceBytes += length
            XCTAssertEqual(replay.remember(opcode, bytes), expectedDrops, "message \(n)")
            XCTAssertEqual(replay.byteCount, referenceBytes)
            if n % 50 == 0 || n > 4900 {
                let messages = replay.messages
                XCTAssertEqual(messages.map(\.opcode), reference.map(\.0), "message \(n)")
                XCTAssertEqual(messages.map(\.bytes), reference.map(\.1), "message \(n)")
            }
        }
    }
}
