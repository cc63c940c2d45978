import XCTest
@testable import LifelineCore

/// Builds configuration JSON from dotted paths and raw JSON values, so tests
/// can say `["upstream.reconnect.jitter": "1.5"]`.
enum ConfigFixture {
    static let url = "ws://upstream.test:9000"

    static func json(_ settings: KeyValuePairs<String, String>, withURL: Bool = true) -> [UInt8] {
        json(settings.map { ($0.key, $0.value) }, withURL: withURL)
    }

    static func json(_ settings: [(String, String)], withURL: Bool = true) -> [UInt8] {
        var root = JSONValue.object([])
        if withURL { _ = root.set(.string(url), at: ["upstream", "url"]) }
        for (path, raw) in settings {
            let value = try! JSONParser.parse(Array(raw.utf8))
            _ = root.set(value, at: path.split(separator: ".").map(String.init)[...])
        }
        return Array(JSONWriter.compact(root).utf8)
    }

    static func parse(_ settings: KeyValuePairs<String, String> = [:], withURL: Bool = true,
                      environment: [String: String] = [:]) throws -> Configuration {
        try Configuration.parse(json: json(settings, withURL: withURL), environment: environment)
    }

    /// The error line, or nil when the configuration is valid.
    static func error(_ settings: KeyValuePairs<String, String> = [:], withURL: Bool = true,
                      environment: [String: String] = [:]) -> String? {
        error(settings.map { ($0.key, $0.value) }, withURL: withURL, environment: environment)
    }

    static func error(_ settings: [(String, String)], withURL: Bool = true, environment: [String: String] = [:]) -> String? {
        do {
            _ = try Configuration.parse(json: json(settings, withURL: withURL), environment: environment)
            return nil
        } catch let error as ConfigError {
            return error.description
        } catch {
            return "unexpected \(error)"
        }
    }

    static func error(json text: String, environment: [String: String] = [:]) -> String? {
        do {
            _ = try Configuration.parse(json: Array(text.utf8), environment: environment)
            return nil
        } catch {
            return "\(error)"
        }
    }
}

final class ConfigFixtureTests: XCTestCase {
    func testFixtureBuildsNestedJSON() {
        let text = String(decoding: ConfigFixture.json(["upstream.reconnect.jitter": "0.5", "workers": "2"]), as: UTF8.self)
        XCTAssertEqual(text, #"{"upstream":{"url":"ws://upstream.test:9000","reconnect":{"jitter":0.5}},"workers":2}"#)
    }
}
