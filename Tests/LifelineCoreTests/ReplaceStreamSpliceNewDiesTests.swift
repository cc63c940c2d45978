import XCTest
@testable import LifelineCore

/// StreamSplice when the incoming connection dies during the overlap (`newClosed`):
/// what it delivered ahead stays held until old delivers it or ends, so the app
/// stream is still exactly 1…N (the soak's lost message, bench/RESULTS.md).
final class ReplaceStreamSpliceNewDiesTests: XCTestCase {
    func testNewDyingAheadThenOldDyingRelaysWhatOldNeverDelivered() {
        var model = SpliceRuntimeModel(window: 4096)
        for n in 1...10 { model.fromOld(replaceSeq(n)) }
        for n in 11...15 { model.fromNew(replaceSeq(n)) }
        model.closeNew()
        XCTAssertEqual(model.splice.heldCount, 5, "the dead connection's messages stay held")
        for n in 11...12 { model.fromOld(replaceSeq(n)) }
        XCTAssertEqual(model.splice.heldCount, 3)
        model.closeOld()
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...15), "13, 14, 15 reach the app once, from the held copies")
        XCTAssertEqual(model.splice.heldCount, 0)
        XCTAssertFalse(model.splice.hasSwitched)
    }

    func testNewDyingThenOldCatchingUpDiscardsEveryHeldCopy() {
        var model = SpliceRuntimeModel(window: 4096)
        for n in 1...10 { model.fromOld(replaceSeq(n)) }
        for n in 11...15 { model.fromNew(replaceSeq(n)) }
        model.closeNew()
        for n in 11...20 { model.fromOld(replaceSeq(n)) }
        XCTAssertEqual(model.splice.heldCount, 0)
        XCTAssertFalse(model.splice.hasSwitched, "old is still the stream")
        // The reconnect is spliced against old like a rotation: it lags by three.
        model.openNew()
        XCTAssertFalse(model.splice.isAligned, "alignment is proven anew for the next connection")
        for n in 18...20 { model.fromNew(replaceSeq(n)) }
        XCTAssertTrue(model.splice.isAligned)
        model.fromNew(replaceSeq(21))
        XCTAssertTrue(model.splice.hasSwitched)
        for n in 22...25 { model.fromNew(replaceSeq(n)) }
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...25))
        XCTAssertEqual(model.oldRelayed, 20)
        XCTAssertEqual(model.splice.duplicatesDropped, 3)
    }

    func testExactActionsAfterNewClosed() {
        var splice = StreamSplice(window: 16)
        XCTAssertEqual(splice.oldMessage(hash: 1, length: 1), .relay)
        XCTAssertEqual(splice.newMessage(hash: 1, length: 1), .drop)
        XCTAssertTrue(splice.isAligned)
        splice.newClosed()
        XCTAssertTrue(splice.isNewClosed)
        XCTAssertFalse(splice.isAligned)
        XCTAssertEqual(splice.newMessage(hash: 2, length: 1), .hold, "never a switch to a dead connection, even aligned")
        XCTAssertEqual(splice.newMessage(hash: 1, length: 1), .drop)
        XCTAssertEqual(splice.oldMessage(hash: 2, length: 1), .relayAndDiscardHeldHead)
        splice.newOpened()
        XCTAssertFalse(splice.isNewClosed)
        XCTAssertEqual(splice.newMessage(hash: 3, length: 1), .hold, "not aligned yet: may be ahead")
        XCTAssertEqual(splice.oldMessage(hash: 3, length: 1), .relayAndDiscardHeldHead)
        XCTAssertTrue(splice.isAligned)
        XCTAssertEqual(splice.newMessage(hash: 4, length: 1), .switchNow)
        splice.newClosed()
        XCTAssertFalse(splice.isNewClosed, "after the switch there is nothing to keep")
    }

    /// The reconnect's copies queue behind the dead connection's: old discards the
    /// heads it delivers, and its end settles the rest against its history.
    func testReconnectQueuesBehindTheDeadConnectionsHeldMessages() {
        var model = SpliceRuntimeModel(window: 4096)
        for n in 1...10 { model.fromOld(replaceSeq(n)) }
        for n in 11...15 { model.fromNew(replaceSeq(n)) }
        model.closeNew()
        model.openNew()
        for n in 14...16 { model.fromNew(replaceSeq(n)) }
        XCTAssertEqual(model.splice.heldCount, 8)
        for n in 11...16 { model.fromOld(replaceSeq(n)) }
        XCTAssertEqual(model.splice.heldCount, 3, "14, 15, 16 of the reconnect stay behind old's copies")
        model.closeOld()
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...16), "no duplicate: old delivered them within the window")
        model.fromNew(replaceSeq(17))
        XCTAssertTrue(model.splice.hasSwitched)
        XCTAssertEqual(model.appTexts, replaceSeqTexts(1...17))
    }
}
