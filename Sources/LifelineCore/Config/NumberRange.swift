/// An allowed numeric range from the spec §2 table, with its wording for
/// error messages ("between 0.1 and 86400, or 0 (off)").
struct NumberRange {
    var lower: Double
    var upper: Double
    /// When set, 0 is also allowed and means this (e.g. "off", "never").
    var zeroMeans: String?

    init(_ lower: Double, _ upper: Double, zeroMeans: String? = nil) {
        self.lower = lower
        self.upper = upper
        self.zeroMeans = zeroMeans
    }

    func contains(_ value: Double) -> Bool {
        (value >= lower && value <= upper) || (zeroMeans != nil && value == 0)
    }

    /// "between 0.1 and 86400", plus ", or 0 (off)" when zero is special.
    var text: String {
        let base = "between \(JSONValue.formatNumber(lower)) and \(JSONValue.formatNumber(upper))"
        return zeroMeans.map { base + ", or 0 (\($0))" } ?? base
    }
}
