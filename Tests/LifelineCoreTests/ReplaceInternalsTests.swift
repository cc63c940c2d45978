import XCTest
@testable import LifelineCore

/// The storage under the replacement parts, against plain reference models:
/// GrowableRing, KeyCountTable (including backward-shift deletion) and
/// ReplayByteRing's buffer bound.
final class ReplaceInternalsTests: XCTestCase {
    func testGrowableRingMatchesAnArray() {
        var random = ReplaceRandom(seed: 11)
        var ring = GrowableRing(filler: 0, maxCapacity: 100)
        var reference: [Int] = []
        for step in 0..<20_000 {
            if !ring.isFull, reference.isEmpty || Bool.random(using: &random) {
                ring.append(step)
                reference.append(step)
            } else {
                XCTAssertEqual(ring.removeFirst(), reference.removeFirst())
            }
            XCTAssertEqual(ring.count, reference.count)
            XCTAssertEqual(ring.first, reference.first)
        }
        XCTAssertEqual((0..<ring.count).map { ring[$0] }, reference)
        ring.removeAll()
        XCTAssertTrue(ring.isEmpty)
    }

    func testKeyCountTableMatchesADictionary() {
        var random = ReplaceRandom(seed: 12)
        var table = KeyCountTable(maxDistinct: 300)
        var reference: [UInt64: Int] = [:]
        for _ in 0..<50_000 {
            // Small raw hashes collide in the low bits: long probe runs, many shifts.
            let hash = UInt64.random(in: 0..<400, using: &random) << 40
            let key = MessageKey(hash: hash, length: 1)
            if let present = reference[hash], Bool.random(using: &random) {
                table.remove(key)
                reference[hash] = present == 1 ? nil : present - 1
            } else if reference.count < 300 || reference[hash] != nil {
                table.insert(key)
                reference[hash, default: 0] += 1
            }
            XCTAssertEqual(table.distinctCount, reference.count)
        }
        for hash in 0..<UInt64(400) {
            XCTAssertEqual(table.contains(MessageKey(hash: hash << 40, length: 1)), reference[hash << 40] != nil)
        }
        table.removeAll()
        XCTAssertFalse(table.contains(MessageKey(hash: 0, length: 1)))
    }

    func testReplayBufferStaysWithinTwiceMaxBytesAndGrowsRarely() {
        var random = ReplaceRandom(seed: 13)
        var ring = ReplayByteRing(maxMessages: 1000, maxBytes: 5000)
        var capacities: Set<Int> = []
        let payload = [UInt8](repeating: 0x5A, count: 5000)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...(Bool.random(using: &random) ? 5000 : 300), using: &random)
            while ring.count >= 1000 || ring.byteCount + length > 5000 { ring.removeFirst() }
            payload.withUnsafeBytes { ring.append(opcode: .binary, payload: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
            capacities.insert(ring.capacity)
        }
        XCTAssertLessThanOrEqual(capacities.max() ?? 0, 10_000)
        XCTAssertLessThanOrEqual(capacities.count, 6, "doubling from 1 KiB: a handful of allocations")
    }

    func testSmallReplayMemoryUsesASmallBuffer() {
        var ring = ReplayByteRing(maxMessages: 64, maxBytes: 65536)
        [UInt8](repeating: 1, count: 100).withUnsafeBytes { ring.append(opcode: .text, payload: $0) }
        XCTAssertEqual(ring.capacity, 1024)
    }
}
