import XCTest
@testable import LifelineCore

/// The hand-over state machine driven step by step with a fake clock.
final class ReplaceHandoverTests: XCTestCase {
    private let reconnect = ReconnectSettings(initialDelaySeconds: 0.1, maxDelaySeconds: 30, multiplier: 2, jitter: 0, maxAttempts: 3)

    private func machine(maxAttempts: Int = 3) -> UpstreamHandover {
        var settings = reconnect
        settings.maxAttempts = maxAttempts
        return UpstreamHandover(reconnect: settings, drainTimeout: 10)
    }

    func testRotationConnectsHandsOverDrainsAndCloses() {
        var handover = machine()
        XCTAssertEqual(handover.current, 1)
        XCTAssertEqual(handover.rotate(.lifetime, now: 100), [.rotationTriggered(.lifetime), .connect(generation: 2)])
        XCTAssertEqual(handover.incoming, 2)
        XCTAssertEqual(handover.current, 1, "the old connection keeps serving while the new one connects")
        XCTAssertEqual(handover.connected(2, now: 101), [.handOver(to: 2, from: 1), .rotated(.lifetime)])
        XCTAssertEqual(handover.current, 2)
        XCTAssertEqual(handover.draining, 1)
        XCTAssertEqual(handover.drainDeadline, 111)
        XCTAssertEqual(handover.nextDeadline, 111)
        XCTAssertEqual(handover.drainFinished(1, now: 101.5), [.closeDrained(generation: 1)])
        XCTAssertNil(handover.draining)
        XCTAssertNil(handover.nextDeadline)
    }

    func testSecondTriggerDuringARotationIsIgnored() {
        var handover = machine()
        _ = handover.rotate(.lifetime, now: 0)
        XCTAssertEqual(handover.rotate(.serverNotice, now: 0.1), [])
        XCTAssertEqual(handover.incoming, 2)
    }

    func testNewConnectionFailingMidRotationKeepsOldServingAndSchedulesARetry() {
        var handover = machine()
        _ = handover.rotate(.serverNotice, now: 50)
        XCTAssertEqual(handover.failed(2, reason: .upstreamError, now: 51, random: 0.5),
                       [.drop(generation: 2), .scheduleRetry(at: 51.1, delay: 0.1, attempt: 1, reason: .serverNotice)])
        XCTAssertEqual(handover.current, 1, "the old connection still serves")
        XCTAssertNil(handover.incoming)
        XCTAssertEqual(handover.retryDue(now: 51.05), [], "not yet")
        XCTAssertEqual(handover.retryDue(now: 51.1), [.connect(generation: 3)])
        XCTAssertEqual(handover.failed(3, reason: .upstreamError, refusedStatus: 503, now: 52, random: 0),
                       [.drop(generation: 3), .scheduleRetry(at: 52.2, delay: 0.2, attempt: 2, reason: .serverNotice)],
                       "an HTTP refusal during a rotation is retried: the old connection still serves the app")
        _ = handover.retryDue(now: 52.2)
        XCTAssertEqual(handover.connected(4, now: 53), [.handOver(to: 4, from: 1), .rotated(.serverNotice)])
        XCTAssertEqual(handover.attempt, 0)
    }

    func testRotationOutOfAttemptsIsAbandonedAndTheOldConnectionKeepsServing() {
        var handover = machine(maxAttempts: 1)
        _ = handover.rotate(.lifetime, now: 0)
        _ = handover.failed(2, reason: .upstreamError, now: 1, random: 0)
        _ = handover.retryDue(now: 2)
        XCTAssertEqual(handover.failed(3, reason: .upstreamError, now: 3, random: 0), [.drop(generation: 3), .rotationAbandoned])
        XCTAssertEqual(handover.current, 1)
        XCTAssertFalse(handover.isClosed)
        XCTAssertEqual(handover.rotate(.lifetime, now: 4), [.rotationTriggered(.lifetime), .connect(generation: 4)], "a later rotation may try again")
    }

    func testOldDyingDuringTheHandOverLetsTheIncomingOneTakeOver() {
        var handover = machine()
        _ = handover.rotate(.lifetime, now: 0)
        XCTAssertEqual(handover.failed(1, reason: .pongTimeout, now: 0.5, random: 0), [.drop(generation: 1)],
                       "no second attempt: the incoming connection is already on its way")
        XCTAssertNil(handover.current)
        XCTAssertEqual(handover.connected(2, now: 0.6), [.handOver(to: 2, from: nil), .rotated(.lifetime)], "nothing to drain")
        XCTAssertNil(handover.draining)
    }

    func testOldDyingWhileDrainingIsDropped() {
        var handover = machine()
        _ = handover.rotate(.lifetime, now: 0)
        _ = handover.connected(2, now: 1)
        XCTAssertEqual(handover.failed(1, reason: .upstreamClose, now: 1.2, random: 0), [.drop(generation: 1)])
        XCTAssertNil(handover.draining)
        XCTAssertEqual(handover.current, 2)
    }

    /// The new connection dies during the overlap: the old one keeps delivering with no
    /// deadline while the session reconnects, and the reconnect hands over from it.
    func testNewDyingWhileOldDrainsReconnectsAndHandsOverFromTheOld() {
        var handover = machine()
        _ = handover.rotate(.lifetime, now: 0)
        _ = handover.connected(2, now: 1)
        XCTAssertEqual(handover.drainDeadline, 11)
        XCTAssertEqual(handover.failed(2, reason: .upstreamError, now: 2, random: 0),
                       [.drop(generation: 2), .scheduleRetry(at: 2.1, delay: 0.1, attempt: 1, reason: .upstreamError)])
        XCTAssertNil(handover.current)
        XCTAssertEqual(handover.draining, 1, "the old connection still delivers")
        XCTAssertNil(handover.drainDeadline, "and is not cut while there is nothing to hand over to")
        XCTAssertEqual(handover.nextDeadline, 2.1)
        XCTAssertEqual(handover.drainTimedOut(now: 20), [])
        XCTAssertEqual(handover.retryDue(now: 2.1), [.connect(generation: 3)])
        XCTAssertEqual(handover.connected(3, now: 3), [.handOver(to: 3, from: 1), .rotated(.upstreamError)])
        XCTAssertEqual(handover.current, 3)
        XCTAssertEqual(handover.draining, 1)
        XCTAssertEqual(handover.drainDeadline, 13)
        XCTAssertEqual(handover.drainFinished(1, now: 4), [.closeDrained(generation: 1)])

        var bothDie = machine()
        _ = bothDie.rotate(.lifetime, now: 0)
        _ = bothDie.connected(2, now: 1)
        _ = bothDie.failed(2, reason: .upstreamError, now: 2, random: 0)
        XCTAssertEqual(bothDie.failed(1, reason: .upstreamError, now: 2.05, random: 0), [.drop(generation: 1)],
                       "the retry is already scheduled")
        _ = bothDie.retryDue(now: 2.1)
        XCTAssertEqual(bothDie.connected(3, now: 2.5), [.handOver(to: 3, from: nil), .rotated(.upstreamError)])
        XCTAssertNil(bothDie.draining)
    }

    func testAppClosingDuringTheHandOverEndsEverything() {
        var handover = machine()
        _ = handover.rotate(.lifetime, now: 0)
        XCTAssertEqual(handover.sessionEnded(), [.drop(generation: 2)])
        XCTAssertTrue(handover.isClosed)
        XCTAssertEqual(handover.connected(2, now: 1), [], "a late answer changes nothing")
        XCTAssertEqual(handover.rotate(.lifetime, now: 2), [])

        var draining = machine()
        _ = draining.rotate(.lifetime, now: 0)
        _ = draining.connected(2, now: 1)
        XCTAssertEqual(draining.sessionEnded(), [.closeDrained(generation: 1)])
    }

    func testLostConnectionReconnectsWithBackoffUntilMaxAttempts() {
        // Delays that binary floating point represents exactly: 0.25, 0.5, 1.
        let settings = ReconnectSettings(initialDelaySeconds: 0.25, maxDelaySeconds: 30, multiplier: 2, jitter: 0, maxAttempts: 3)
        var handover = UpstreamHandover(reconnect: settings, drainTimeout: 10)
        XCTAssertEqual(handover.failed(1, reason: .upstreamClose, now: 10, random: 0),
                       [.drop(generation: 1), .scheduleRetry(at: 10.25, delay: 0.25, attempt: 1, reason: .upstreamClose)])
        XCTAssertNil(handover.current)
        XCTAssertEqual(handover.rotate(.lifetime, now: 10.1), [], "no rotation while reconnecting")
        XCTAssertEqual(handover.retryDue(now: 10.25), [.connect(generation: 2)])
        XCTAssertEqual(handover.failed(2, reason: .upstreamError, now: 10.5, random: 0),
                       [.drop(generation: 2), .scheduleRetry(at: 11, delay: 0.5, attempt: 2, reason: .upstreamClose)])
        _ = handover.retryDue(now: 11)
        XCTAssertEqual(handover.failed(3, reason: .upstreamError, now: 11.5, random: 0),
                       [.drop(generation: 3), .scheduleRetry(at: 12.5, delay: 1, attempt: 3, reason: .upstreamClose)])
        _ = handover.retryDue(now: 12.5)
        XCTAssertEqual(handover.failed(4, reason: .upstreamError, now: 13, random: 0),
                       [.drop(generation: 4), .giveUp(refusedStatus: nil)])
        XCTAssertTrue(handover.isClosed)
    }

    func testReconnectSucceedsWithoutDraining() {
        var handover = machine()
        _ = handover.failed(1, reason: .pongTimeout, now: 0, random: 0)
        _ = handover.retryDue(now: 1)
        XCTAssertEqual(handover.connected(2, now: 1.5), [.handOver(to: 2, from: nil), .rotated(.pongTimeout)])
        XCTAssertEqual(handover.current, 2)
        XCTAssertEqual(handover.attempt, 0)
    }

    func testRefusedReconnectGivesUpNamingTheStatus() {
        var handover = machine()
        _ = handover.failed(1, reason: .upstreamClose, now: 0, random: 0)
        _ = handover.retryDue(now: 1)
        XCTAssertEqual(handover.failed(2, reason: .upstreamError, refusedStatus: 403, now: 1.1, random: 0),
                       [.drop(generation: 2), .giveUp(refusedStatus: 403)])
        XCTAssertTrue(handover.isClosed)
    }

    func testRotationDuringADrainIsDeferredUntilTheDrainEnds() {
        var handover = machine()
        _ = handover.rotate(.lifetime, now: 0)
        _ = handover.connected(2, now: 1)
        XCTAssertEqual(handover.rotate(.serverNotice, now: 1.5), [])
        XCTAssertEqual(handover.deferredRotation, .serverNotice)
        XCTAssertEqual(handover.drainFinished(1, now: 2),
                       [.closeDrained(generation: 1), .rotationTriggered(.serverNotice), .connect(generation: 3)])
    }

    func testDrainDeadlineForcesTheSplice() {
        var handover = machine()
        _ = handover.rotate(.lifetime, now: 0)
        _ = handover.connected(2, now: 1)
        XCTAssertEqual(handover.drainTimedOut(now: 10.9), [], "not yet")
        XCTAssertEqual(handover.drainTimedOut(now: 11), [.forceSplice(old: 1), .closeDrained(generation: 1)])
        XCTAssertNil(handover.nextDeadline)
    }

    func testDrainCanBeExtendedOnlyLaterAndOnlyWhileDraining() {
        var handover = machine()
        handover.extendDrain(until: 50)
        XCTAssertNil(handover.drainDeadline, "nothing drains yet")
        _ = handover.rotate(.lifetime, now: 0)
        _ = handover.connected(2, now: 1)
        XCTAssertEqual(handover.drainDeadline, 11)
        handover.extendDrain(until: 9)
        XCTAssertEqual(handover.drainDeadline, 11, "never earlier")
        handover.extendDrain(until: 21)
        XCTAssertEqual(handover.drainDeadline, 21)
        XCTAssertEqual(handover.drainTimedOut(now: 11), [], "the old deadline no longer applies")
        XCTAssertEqual(handover.drainTimedOut(now: 21), [.forceSplice(old: 1), .closeDrained(generation: 1)])
    }

    func testEventsForUnknownGenerationsChangeNothing() {
        var handover = machine()
        let before = handover
        XCTAssertEqual(handover.connected(7, now: 0), [])
        XCTAssertEqual(handover.failed(7, reason: .upstreamError, now: 0, random: 0), [])
        XCTAssertEqual(handover.drainFinished(7, now: 0), [])
        XCTAssertEqual(handover.retryDue(now: 0), [])
        XCTAssertEqual(handover, before)
    }
}
