import XCTest
@testable import LifelineCore

/// The demo's pure parts: the client's sequence check, its frames, and the wording the
/// e2e test and users read (`gaps = N`, `duplicates = N`, the median RTT bucket).
final class DemoTests: XCTestCase {
    func message(_ seq: Int) -> [UInt8] { Array(#"{"seq":\#(seq)}"#.utf8) }

    func testSequenceCheckCountsGapsAndDuplicates() {
        let client = DemoClient(loop: EventLoop(useDefaultLoop: false))
        for seq in [5, 6, 7, 10, 10, 9, 11, 13] { XCTAssertTrue(client.check(message(seq))) }
        XCTAssertFalse(client.check(Array(#"{"op":"x"}"#.utf8)))
        XCTAssertEqual(client.messages, 8)
        XCTAssertEqual(client.gaps, 2)        // 7 → 10, 11 → 13
        XCTAssertEqual(client.missing, 3)     // 8, 9, 12
        XCTAssertEqual(client.duplicates, 2)  // 10 again, 9 after 10
        XCTAssertEqual(client.lastSeq, 13)
    }

    func testSeqParsing() {
        XCTAssertEqual(DemoClient.seq(of: message(0)), 0)
        XCTAssertEqual(DemoClient.seq(of: message(123456)), 123456)
        XCTAssertNil(DemoClient.seq(of: Array(#"{"seq":}"#.utf8)))
        XCTAssertNil(DemoClient.seq(of: Array(#"{"seq":1x}"#.utf8)))
        XCTAssertNil(DemoClient.seq(of: Array(#"{"seq":1"#.utf8)))
    }

    func testFramesRoundTripThroughTheReaderSplitAnywhere() {
        let stream = DemoFrames.text("hello", masked: true) + DemoFrames.encode(.ping, [1, 2], masked: true)
            + DemoFrames.encode(.binary, Array(repeating: 7, count: 300), masked: true) + DemoFrames.close(code: 1000, masked: true)
        let expected: [DemoFrameEvent] = [.message(.text, Array("hello".utf8)), .ping([1, 2]),
                                          .message(.binary, Array(repeating: 7, count: 300)), .close(1000)]
        for split in 0...stream.count {
            var reader = DemoFrameReader(role: .server)
            var events: [DemoFrameEvent] = []
            var buffer = Array(stream[..<split])
            reader.read(&buffer) { events.append($0) }
            buffer += stream[split...]
            reader.read(&buffer) { events.append($0) }
            XCTAssertEqual(events, expected, "split at \(split)")
            XCTAssertTrue(buffer.isEmpty)
        }
    }

    func testServerFramesAreUnmaskedAndClientsMustMask() {
        var reader = DemoFrameReader(role: .server)
        var buffer = DemoFrames.text("x", masked: false)
        var events: [DemoFrameEvent] = []
        reader.read(&buffer) { events.append($0) }
        guard case .failure = events.first else { return XCTFail("unmasked client frame accepted: \(events)") }
    }

    func testSummaryReportsGapsAndDuplicatesAndSucceedsOnlyWithoutThem() {
        var figures = DemoFigures()
        figures.elapsed = 10
        figures.messages = 2000
        figures.rotations = [("lifetime", 2), ("pong_timeout", 0)]
        let clean = DemoReport.summary(figures, failure: nil)
        XCTAssertTrue(clean.contains("gaps = 0"))
        XCTAssertTrue(clean.contains("duplicates = 0"))
        XCTAssertTrue(clean.contains { $0.hasPrefix("rotations     2 (lifetime 2)") })
        XCTAssertTrue(clean.contains { $0.hasPrefix("OK:") })
        figures.gaps = 1
        figures.missing = 4
        let gappy = DemoReport.summary(figures, failure: nil)
        XCTAssertTrue(gappy.contains("gaps = 1 (4 sequence numbers missing)"))
        XCTAssertTrue(gappy.contains { $0.hasPrefix("FAILED:") })
        XCTAssertFalse(gappy.contains { $0.hasPrefix("OK:") })
    }

    func testStatusLineShowsTheLastIntervalsRateAndMeanRTT() {
        let rtt = RelaxedHistogram(buckets: WorkerMetrics.pongRTTBuckets)
        var before = DemoFigures()
        before.elapsed = 1
        before.messages = 200
        before.rttDown = rtt.snapshot()
        rtt.observe(0.0002)
        rtt.observe(0.0004)
        var now = before
        now.elapsed = 2
        now.messages = 390
        now.rttDown = rtt.snapshot()
        now.pingsDown = 2
        XCTAssertEqual(DemoReport.statusLine(now, previous: before),
                       "t=2s  msgs=390 (190/s)  pings down/up=2/0  rtt down/up=0.30ms/-  rotations=0  deduped=0  gaps=0  dups=0")
    }

    func testMedianIsTheBucketBoundHoldingIt() {
        let rtt = RelaxedHistogram(buckets: WorkerMetrics.pongRTTBuckets)
        XCTAssertEqual(DemoReport.median(rtt.snapshot()), "-")
        for value in [0.0001, 0.002, 0.003] { rtt.observe(value) }
        XCTAssertEqual(DemoReport.median(rtt.snapshot()), "≤ 2.50ms")
        for _ in 0..<5 { rtt.observe(60) }
        XCTAssertEqual(DemoReport.median(rtt.snapshot()), "> 10000ms")
    }
}
