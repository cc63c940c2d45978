import XCTest
@testable import LifelineCore

/// StreamSplice scenarios with `{"seq":N}` messages through the runtime model:
/// the app stream must be exactly 1…N whenever the streams can be aligned.
final class ReplaceStreamSpliceTests: XCTestCase {
    func testNewLaggingByFiveDropsItsFirstFiveAndSwitchesAtTheFirstFresh() {
        var model = SpliceRuntimeModel(window: 4096)
        for n in 1...10 { model.fromOld(replaceSeq(n)) }
        for n in 6...10 {
            model.fromNew(replaceSeq(n))
            XCTAssertTrue(model.splice.isAligned)
            XCTAssertFalse(model.splice.hasSwitched)
        }
        XCTAssertEqual(model.splice.duplicatesDropped, 5)
        model.fromNew(replaceSeq(11))
        XCTAssertTrue(model.splice.hasSwitched)
        for n in 12...30 {
            model.fromOld(replaceSeq(n - 1))
            model.fromNew(replaceSeq(n))
        }
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...30))
        XCTAssertEqual(model.oldRelayed, 10)
        XCTAssertEqual(model.splice.duplicatesDropped, 5)
    }

    func testExactActionsWhenNewLags() {
        var splice = StreamSplice(window: 16)
        for n in 1...10 { XCTAssertEqual(splice.oldMessage(hash: replaceHash(replaceSeq(n)), length: 9), .relay) }
        XCTAssertEqual(splice.newMessage(hash: replaceHash(replaceSeq(6)), length: 9), .drop)
        XCTAssertEqual(splice.newMessage(hash: replaceHash(replaceSeq(11)), length: 10), .switchNow)
        XCTAssertEqual(splice.newMessage(hash: replaceHash(replaceSeq(12)), length: 10), .switchNow,
                       "after the switch every call just says relay")
        XCTAssertEqual(splice.oldMessage(hash: replaceHash(replaceSeq(11)), length: 10), .relay,
                       "ignored after the switch")
        XCTAssertEqual(splice.duplicatesDropped, 1)
    }

    func testSameHashDifferentLengthIsNotADuplicate() {
        var splice = StreamSplice(window: 16)
        _ = splice.oldMessage(hash: 42, length: 3)
        XCTAssertEqual(splice.newMessage(hash: 42, length: 4), .hold)
        XCTAssertEqual(splice.newMessage(hash: 42, length: 3), .drop)
    }

    /// New keeps lagging by five in lockstep, so it never delivers a fresh
    /// message while old is open; after old is closed it switches at the first.
    func testPersistentLagSwitchesAfterOldCloses() {
        var model = SpliceRuntimeModel(window: 64)
        for n in 1...5 { model.fromOld(replaceSeq(n)) }
        for n in 6...40 {
            model.fromOld(replaceSeq(n))
            model.fromNew(replaceSeq(n - 5))
        }
        XCTAssertFalse(model.splice.hasSwitched)
        model.closeOld()
        for n in 36...60 { model.fromNew(replaceSeq(n)) }
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...60))
        XCTAssertEqual(model.splice.duplicatesDropped, 40)
    }

    func testNewLeadingByFiveIsHeldThenDiscardedAsOldCatchesUp() {
        var model = SpliceRuntimeModel(window: 4096)
        for n in 1...10 { model.fromOld(replaceSeq(n)) }
        for n in 11...15 { model.fromNew(replaceSeq(n)) }
        XCTAssertEqual(model.splice.heldCount, 5)
        XCTAssertFalse(model.splice.isAligned)
        for n in 11...15 {
            XCTAssertFalse(model.splice.isAligned)
            model.fromOld(replaceSeq(n))
            XCTAssertEqual(model.splice.heldCount, 15 - n)
        }
        XCTAssertTrue(model.splice.isAligned)
        XCTAssertFalse(model.splice.hasSwitched)
        model.fromNew(replaceSeq(16))
        XCTAssertTrue(model.splice.hasSwitched)
        for n in 17...30 {
            model.fromNew(replaceSeq(n))
            model.fromOld(replaceSeq(n - 1))
        }
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...30))
        XCTAssertEqual(model.oldRelayed, 15)
        XCTAssertEqual(model.splice.duplicatesDropped, 0)
    }

    func testExactActionsWhenNewLeads() {
        var splice = StreamSplice(window: 16)
        XCTAssertEqual(splice.oldMessage(hash: 1, length: 1), .relay)
        XCTAssertEqual(splice.newMessage(hash: 2, length: 1), .hold)
        XCTAssertEqual(splice.newMessage(hash: 3, length: 1), .hold)
        XCTAssertEqual(splice.oldMessage(hash: 2, length: 1), .relayAndDiscardHeldHead)
        XCTAssertFalse(splice.isAligned)
        XCTAssertEqual(splice.oldMessage(hash: 3, length: 1), .relayAndDiscardHeldHead)
        XCTAssertTrue(splice.isAligned)
        XCTAssertEqual(splice.newMessage(hash: 4, length: 1), .switchNow)
    }

    /// New keeps leading by five in lockstep: the held queue never empties
    /// while old is open; closing old relays exactly what old had not.
    func testPersistentLeadIsSettledWhenOldCloses() {
        var model = SpliceRuntimeModel(window: 64)
        for n in 1...5 { model.fromNew(replaceSeq(n)) }
        for n in 6...40 {
            model.fromNew(replaceSeq(n))
            model.fromOld(replaceSeq(n - 5))
        }
        XCTAssertEqual(model.splice.heldCount, 5)
        XCTAssertFalse(model.splice.isAligned)
        model.closeOld()
        XCTAssertEqual(model.splice.heldCount, 0)
        for n in 41...50 { model.fromNew(replaceSeq(n)) }
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...50))
        XCTAssertTrue(model.splice.hasSwitched)
    }

    func testWindowZeroSwitchesAtOnce() {
        var splice = StreamSplice(window: 0)
        XCTAssertEqual(splice.oldMessage(hash: 1, length: 1), .relay)
        XCTAssertEqual(splice.newMessage(hash: 1, length: 1), .switchNow, "no de-duplication at all")
        XCTAssertTrue(splice.hasSwitched)
        XCTAssertEqual(splice.heldCount, 0)
        XCTAssertEqual(splice.duplicatesDropped, 0)
        var negative = StreamSplice(window: -3)
        XCTAssertEqual(negative.window, 0)
        XCTAssertEqual(negative.newMessage(hash: 9, length: 9), .switchNow)
    }

    /// Streams with nothing in common never align: everything from new is held
    /// (the runtime times out and closes old, which relays the held messages).
    func testDisjointStreamsNeverAlign() {
        var model = SpliceRuntimeModel(window: 4096)
        for n in 1...500 {
            model.fromOld(Array("old \(n)".utf8))
            model.fromNew(Array("new \(n)".utf8))
            XCTAssertEqual(model.splice.heldCount, n)
            XCTAssertFalse(model.splice.isAligned)
        }
        XCTAssertFalse(model.splice.hasSwitched)
        model.closeOld()
        XCTAssertEqual(model.app.count, 1000)
        XCTAssertEqual(model.appTexts.suffix(500), (1...500).map { "new \($0)" })
        model.fromNew(Array("new 501".utf8))
        XCTAssertTrue(model.splice.hasSwitched)
    }

    /// With a window smaller than the lag, new's first messages have left the
    /// history: they are held, old never relays them again, so there is no
    /// alignment. Closing old then relays them again (duplicates): the window
    /// must exceed the lag for an exact hand-over.
    func testWindowSmallerThanTheLagDoesNotAlign() {
        var model = SpliceRuntimeModel(window: 4)
        for n in 1...20 { model.fromOld(replaceSeq(n)) }
        for n in 10...20 { model.fromNew(replaceSeq(n)) }
        XCTAssertEqual(model.splice.heldCount, 7, "10…16 are out of the window")
        XCTAssertEqual(model.splice.duplicatesDropped, 4, "17…20 are in it")
        XCTAssertFalse(model.splice.isAligned)
        for n in 21...30 {
            model.fromOld(replaceSeq(n))
            model.fromNew(replaceSeq(n))
        }
        XCTAssertFalse(model.splice.isAligned)
        XCTAssertFalse(model.splice.hasSwitched)
        XCTAssertEqual(model.splice.heldCount, 7)
        model.closeOld()
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...30) + replaceSeqTexts(10...16))
    }

    /// A reply only new sends (to a replayed subscribe) blocks the held head:
    /// old's later messages do not discard what is behind it. Closing old
    /// relays the reply and drops the held messages old did deliver.
    func testAReplyOnlyNewSendsIsRelayedOnceAtOldClose() {
        var model = SpliceRuntimeModel(window: 64)
        let reply = Array(#"{"result":null,"id":1}"#.utf8)
        for n in 1...10 { model.fromOld(replaceSeq(n)) }
        model.fromNew(reply)
        for n in 11...14 { model.fromNew(replaceSeq(n)) }
        for n in 11...16 { model.fromOld(replaceSeq(n)) }
        XCTAssertEqual(model.splice.heldCount, 5)
        XCTAssertFalse(model.splice.isAligned)
        model.closeOld()
        XCTAssertEqual(model.splice.duplicatesDropped, 4)
        for n in 15...20 { model.fromNew(replaceSeq(n)) }
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...16) + [replaceText(reply)] + replaceSeqTexts(17...20))
    }

    func testOldClosedBeforeNewSendsAnything() {
        var model = SpliceRuntimeModel(window: 64)
        for n in 1...10 { model.fromOld(replaceSeq(n)) }
        model.closeOld()
        XCTAssertTrue(model.splice.isOldClosed)
        XCTAssertFalse(model.splice.hasSwitched)
        for n in 7...15 { model.fromNew(replaceSeq(n)) }
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...15))
        model.closeOld()
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...15), "a second close changes nothing")
    }

    func testHistoryForgetsBeyondTheWindow() {
        var splice = StreamSplice(window: 3)
        for n: UInt64 in 1...5 { _ = splice.oldMessage(hash: n, length: 1) }
        XCTAssertEqual(splice.newMessage(hash: 2, length: 1), .hold, "2 left the window")
        var fresh = StreamSplice(window: 3)
        for n: UInt64 in 1...5 { _ = fresh.oldMessage(hash: n, length: 1) }
        XCTAssertEqual(fresh.newMessage(hash: 3, length: 1), .drop)
    }

    /// Identical messages repeated in old's history are counted, not set-like:
    /// one copy leaving the window keeps the others findable.
    func testRepeatedMessagesInTheWindow() {
        var splice = StreamSplice(window: 3)
        for hash: UInt64 in [7, 7, 8, 9] { _ = splice.oldMessage(hash: hash, length: 1) }
        XCTAssertEqual(splice.newMessage(hash: 7, length: 1), .drop, "one 7 is still in the window")
        _ = splice.oldMessage(hash: 10, length: 1)
        XCTAssertEqual(splice.newMessage(hash: 7, length: 1), .switchNow, "both 7s have left; aligned before")
    }
}
