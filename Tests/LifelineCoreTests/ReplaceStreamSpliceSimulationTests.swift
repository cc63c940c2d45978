import XCTest
@testable import LifelineCore

/// StreamSplice under 1,000 seeded random interleavings of one broadcast seen
/// by two connections, through the runtime model: whatever the lag (−20…20
/// time units, negative = new ahead), the jitter, bursts and pauses, and when
/// old is closed, the app receives exactly 1…N.
final class ReplaceStreamSpliceSimulationTests: XCTestCase {
    /// One delivery. Ties in time are broken by `tie`, random across the two
    /// connections and increasing along each one, so each keeps its order.
    private struct Event {
        var time: Double
        var tie: UInt64
        var fromOld: Bool
        var seq: Int
    }

    /// Delivery times of 1…n: the broadcast times plus a latency and a jitter,
    /// never earlier than the previous message (one connection keeps order).
    private func deliveries(_ broadcast: [Double], latency: Double, random: inout ReplaceRandom) -> [Double] {
        var last = -Double.infinity
        return broadcast.map { time in
            last = max(last, time + latency + Double.random(in: 0..<2, using: &random))
            return last
        }
    }

    func testRandomInterleavingsGiveAnExactAppStream() {
        var random = ReplaceRandom(seed: 2024)
        var switchedWhileOldOpen = 0, settledAtOldClose = 0, neverSwitched = 0, heldAny = 0, droppedAny = 0
        for run in 0..<1000 {
            let count = Int.random(in: 60...200, using: &random)
            let lag = Double(Int.random(in: -20...20, using: &random))
            var broadcast: [Double] = []
            var time = 0.0
            for _ in 1...count {
                let roll = Double.random(in: 0..<1, using: &random)
                time += roll < 0.05 ? Double.random(in: 25..<60, using: &random)  // a pause
                    : roll < 0.25 ? 0  // a burst
                    : Double.random(in: 0.5..<1.5, using: &random)
                broadcast.append(time)
            }
            let old = deliveries(broadcast, latency: 0, random: &random)
            let new = deliveries(broadcast, latency: 40 + lag, random: &random).map { $0 - 40 }
            let newFirst = Int.random(in: 1...30, using: &random)  // new subscribed late
            let oldLast = Int.random(in: max(newFirst, 20)...count, using: &random)  // old closed after it
            let oldTies = (1...oldLast).map { _ in random.next() }.sorted()
            let newTies = (newFirst...count).map { _ in random.next() }.sorted()
            var events = (1...oldLast).map { Event(time: old[$0 - 1], tie: oldTies[$0 - 1], fromOld: true, seq: $0) }
            events += (newFirst...count).map {
                Event(time: new[$0 - 1], tie: newTies[$0 - newFirst], fromOld: false, seq: $0)
            }
            events.sort { ($0.time, $0.tie) < ($1.time, $1.tie) }

            var model = SpliceRuntimeModel(window: 64)
            var maxHeld = 0
            for event in events {
                if event.fromOld {
                    model.fromOld(replaceSeq(event.seq))
                    if event.seq == oldLast {
                        if model.splice.hasSwitched { switchedWhileOldOpen += 1 } else if model.splice.heldCount > 0 {
                            settledAtOldClose += 1
                        }
                        model.closeOld()
                    }
                } else {
                    model.fromNew(replaceSeq(event.seq))
                }
                maxHeld = max(maxHeld, model.splice.heldCount)
            }
            if !model.splice.hasSwitched { neverSwitched += 1 }
            if maxHeld > 0 { heldAny += 1 }
            if model.splice.duplicatesDropped > 0 { droppedAny += 1 }
            let expected = replaceSeqTexts(1...count)
            if model.appTexts != expected {
                XCTFail("run \(run) lag \(lag) new from \(newFirst) old to \(oldLast): app got "
                        + model.appTexts.joined(separator: " "))
                return
            }
        }
        // Every path was exercised, not just the easy one.
        XCTAssertGreaterThan(switchedWhileOldOpen, 100)
        XCTAssertGreaterThan(settledAtOldClose, 30)
        XCTAssertGreaterThan(heldAny, 200)
        XCTAssertGreaterThan(droppedAny, 200)
        print("splice simulation: switched while old open \(switchedWhileOldOpen), held settled at old close "
              + "\(settledAtOldClose), never switched (new never fresh) \(neverSwitched)")
    }
}
