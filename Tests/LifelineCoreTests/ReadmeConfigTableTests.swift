import Foundation
import XCTest
@testable import LifelineCore

/// README.md's configuration reference is checked against the code: every key is listed,
/// every default equals the effective configuration's, every numeric range is the one
/// the validator enforces (its bounds accepted, just beyond them refused).
final class ReadmeConfigTableTests: XCTestCase {
    struct TableRow {
        var path: String
        var defaultCell: String
        var rangeCell: String
    }

    static func readmeRows() throws -> [TableRow] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = text.range(of: "## Configuration reference") else { return [] }
        let section = text[start.upperBound...].prefix { _ in true }
        let end = section.range(of: "\n## ")?.lowerBound ?? section.endIndex
        return section[..<end].split(separator: "\n").compactMap { line -> TableRow? in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 5, cells[1].hasPrefix("`"), cells[1].hasSuffix("`") else { return nil }
            return TableRow(path: String(cells[1].dropFirst().dropLast()), defaultCell: cells[2], rangeCell: cells[3])
        }
    }

    func testEveryKeyIsListedOnce() throws {
        let rows = try Self.readmeRows()
        let nullableObjects = ConfigSchema.entries.filter { $0.kind == .nullableObject }.map { $0.path + "." }
        let leaves = ConfigSchema.entries.filter { $0.kind != .object }.map(\.path)
            .filter { path in !nullableObjects.contains { path.hasPrefix($0) } }
        XCTAssertEqual(rows.map(\.path).sorted(), leaves.sorted())
    }

    func testDefaultsMatchTheEffectiveConfiguration() throws {
        let configuration = try ConfigFixture.parse()
        let effective = try JSONSerialization.jsonObject(with: Data(configuration.effectiveJSON().utf8)) as! [String: Any]
        for row in try Self.readmeRows() where row.path != "upstream.url" {
            var value: Any? = effective
            for key in row.path.split(separator: ".") { value = (value as? [String: Any])?[String(key)] }
            let cell = row.defaultCell.trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let expected = try JSONSerialization.jsonObject(with: Data(cell.utf8), options: .fragmentsAllowed)
            XCTAssertEqual(normalise(value), normalise(expected), row.path)
        }
    }

    func testNumericRangesAreTheValidatorsRanges() throws {
        let contexts = Dictionary(uniqueKeysWithValues: ConfigRangeTests.rows.map { ($0.path, $0.context) })
        var checked = 0
        for row in try Self.readmeRows() {
            guard let range = Self.parseRange(row.rangeCell) else { continue }
            let kind = ConfigSchema.kind(of: row.path)
            let integer = kind == .integer || kind == .integerOrAuto
            let context = (contexts[row.path] ?? [:]).map { ($0.key, $0.value) }
            func accepted(_ value: Double) -> Bool {
                let text = integer ? String(Int(value)) : String(value)
                return ConfigFixture.error(context + [(row.path, text)]) == nil
            }
            XCTAssertTrue(accepted(range.lower), "\(row.path): README lower bound \(range.lower) refused")
            XCTAssertTrue(accepted(range.upper), "\(row.path): README upper bound \(range.upper) refused")
            let below = integer ? range.lower - 1 : range.lower - max(range.lower * 1e-6, 1e-6)
            let above = integer ? range.upper + 1 : range.upper + max(range.upper * 1e-6, 1e-6)
            if below != 0 || range.zeroMeans == nil {
                XCTAssertFalse(accepted(below), "\(row.path): \(below) accepted below README's range")
            }
            XCTAssertFalse(accepted(above), "\(row.path): \(above) accepted above README's range")
            if range.zeroMeans != nil { XCTAssertTrue(accepted(0), "\(row.path): README says 0 is allowed") }
            checked += 1
        }
        XCTAssertEqual(checked, ConfigSchema.entries.filter { [.number, .integer, .integerOrAuto].contains($0.kind) }.count, "numeric rows found in README")
    }

    /// "0.1–86400" or "1–2592000, 0 = never".
    static func parseRange(_ cell: String) -> (lower: Double, upper: Double, zeroMeans: String?)? {
        let parts = cell.components(separatedBy: ", 0 = ")
        let bounds = parts[0].components(separatedBy: "–")
        guard bounds.count == 2, let lower = Double(bounds[0]), let upper = Double(bounds[1]) else { return nil }
        return (lower, upper, parts.count > 1 ? parts[1] : nil)
    }

    /// A canonical text for a JSON value (numbers compared by value).
    private func normalise(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "null"
        case let number as NSNumber where String(describing: number) != "true" && String(describing: number) != "false":
            return String(number.doubleValue)
        case let dictionary as [String: Any] where dictionary.isEmpty: return "{}"
        case let other?: return String(describing: other)
        }
    }
}
