import XCTest
import LifelineFuzzKit

/// Replays every committed seed (and every minimised crash added to the corpus)
/// through the fuzz targets' invariant checks, so `swift test` keeps them passing
/// without a fuzzing toolchain.
final class SeedCorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("corpus")

    func replay(_ target: FuzzTarget, atLeast minimum: Int) throws {
        let folder = Self.corpus.appendingPathComponent(target.rawValue).path
        let files = Corpus.files(at: folder)
        XCTAssertGreaterThanOrEqual(files.count, minimum, "seed files in \(folder)")
        for file in files {
            let bytes = try XCTUnwrap(Corpus.read(file), file)
            XCTAssertNoThrow(try target.run(bytes), file)
        }
    }

    func testFrameDecoderSeeds() throws { try replay(.frameDecoder, atLeast: 10) }
    func testRequestParserSeeds() throws { try replay(.requestParser, atLeast: 10) }
    func testResponseParserSeeds() throws { try replay(.responseParser, atLeast: 10) }
    func testConfigSeeds() throws { try replay(.config, atLeast: 10) }

    /// The replay runner's exit codes (what `fuzz-<target> DIR` returns).
    func testReplayRunner() {
        XCTAssertEqual(FuzzDriver.replay(.config, paths: [Self.corpus.appendingPathComponent("config").path]), 0)
        XCTAssertEqual(FuzzDriver.replay(.config, paths: []), 2)
        XCTAssertEqual(FuzzDriver.replay(.config, paths: ["/nonexistent/seed"]), 1)
    }
}
