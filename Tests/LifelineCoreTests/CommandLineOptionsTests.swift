import XCTest
@testable import LifelineCore

final class CommandLineOptionsTests: XCTestCase {
    private func parse(_ arguments: [String], _ environment: [String: String] = [:]) -> Result<CommandLineAction, UsageError> {
        CommandLineOptions.parse(arguments, environment: environment)
    }

    private func usageError(_ arguments: [String]) -> String? {
        if case .failure(let error) = parse(arguments) { return error.message }
        return nil
    }

    func testRunForms() {
        XCTAssertEqual(parse([]), .success(.run(configPath: "./config.json")))
        XCTAssertEqual(parse([], ["LIFELINE_CONFIG": "/etc/l.json"]), .success(.run(configPath: "/etc/l.json")))
        XCTAssertEqual(parse([], ["LIFELINE_CONFIG": ""]), .success(.run(configPath: "./config.json")))
        XCTAssertEqual(parse(["--config", "a.json"], ["LIFELINE_CONFIG": "/etc/l.json"]), .success(.run(configPath: "a.json")))
        XCTAssertEqual(parse(["--config=b.json"]), .success(.run(configPath: "b.json")))
    }

    func testCheckConfigForms() {
        XCTAssertEqual(parse(["--check-config"]), .success(.checkConfig(configPath: "./config.json")))
        XCTAssertEqual(parse(["--check-config", "--config", "c.json"]), .success(.checkConfig(configPath: "c.json")))
        XCTAssertEqual(parse(["--config", "c.json", "--check-config"]), .success(.checkConfig(configPath: "c.json")))
        XCTAssertEqual(parse(["--check-config"], ["LIFELINE_CONFIG": "e.json"]), .success(.checkConfig(configPath: "e.json")))
    }

    func testDemoForms() {
        XCTAssertEqual(parse(["demo"]), .success(.demo(durationSeconds: nil)))
        XCTAssertEqual(parse(["demo", "--duration", "5"]), .success(.demo(durationSeconds: 5)))
        XCTAssertEqual(parse(["demo", "--duration=2.5"]), .success(.demo(durationSeconds: 2.5)))
    }

    func testVersionAndHelp() {
        XCTAssertEqual(parse(["--version"]), .success(.version))
        XCTAssertEqual(parse(["--help"]), .success(.help))
        XCTAssertEqual(parse(["-h"]), .success(.help))
        XCTAssertEqual(parse(["--config", "x", "--help"]), .success(.help))
        XCTAssertEqual(parse(["--bogus", "--version"]), .success(.version))
        XCTAssertTrue(CommandLineOptions.usage.contains("lifeline --check-config [--config FILE]"))
        XCTAssertTrue(CommandLineOptions.usage.contains("$LIFELINE_CONFIG, then ./config.json"))
    }

    func testUsageErrors() {
        XCTAssertEqual(usageError(["--conf", "x"]), "unknown option '--conf'")
        XCTAssertEqual(usageError(["-c"]), "unknown option '-c'")
        XCTAssertEqual(usageError(["run"]), "unexpected argument 'run'")
        XCTAssertEqual(usageError(["--config"]), "--config needs a value")
        XCTAssertEqual(usageError(["--config", "--check-config"]), "--config needs a value")
        XCTAssertEqual(usageError(["--config="]), "--config needs a file path")
        XCTAssertEqual(usageError(["--config", "a", "--config", "b"]), "--config given more than once")
        XCTAssertEqual(usageError(["--check-config", "--check-config"]), "--check-config given more than once")
        XCTAssertEqual(usageError(["--check-config=yes"]), "--check-config takes no value")
        XCTAssertEqual(usageError(["demo", "--duration"]), "--duration needs a value")
        XCTAssertEqual(usageError(["demo", "--duration", "0"]), "--duration = '0' (must be a number of seconds greater than 0)")
        XCTAssertEqual(usageError(["demo", "--duration", "soon"]), "--duration = 'soon' (must be a number of seconds greater than 0)")
        XCTAssertEqual(usageError(["demo", "--config", "x"]), "--config does not apply to demo")
        XCTAssertEqual(usageError(["demo", "extra"]), "unexpected argument 'extra'")
        XCTAssertEqual(usageError(["--duration", "3"]), "--duration only applies to demo (lifeline demo --duration SECONDS)")
        XCTAssertEqual(usageError(["--check-config", "demo"]), "demo must be the first argument (lifeline demo [--duration SECONDS])")
    }
}
