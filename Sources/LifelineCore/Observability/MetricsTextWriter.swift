/// Builds a Prometheus text-format (0.0.4) document. Owns the output text and the line
/// shapes: `# HELP`/`# TYPE` headers, samples with labels in the order given, and a
/// histogram's `_bucket`/`_sum`/`_count` lines.
struct MetricsTextWriter {
    /// The `# TYPE` word.
    enum Kind: String {
        case counter, gauge, histogram
    }

    private(set) var text = ""

    init() { text.reserveCapacity(8192) }

    mutating func header(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(MetricValueFormat.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Int) {
        line(name, labels, MetricValueFormat.format(value))
    }

    mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Double) {
        line(name, labels, MetricValueFormat.format(value))
    }

    /// `name_bucket{labels…,le}` for every bound and `+Inf`, then `name_sum` and `name_count`.
    mutating func histogram(_ name: String, _ labels: [(String, String)], _ snapshot: RelaxedHistogram.Snapshot) {
        for (bound, count) in zip(snapshot.upperBounds, snapshot.cumulativeCounts) {
            line(name + "_bucket", labels + [("le", MetricValueFormat.format(bound))], String(count))
        }
        line(name + "_bucket", labels + [("le", "+Inf")], String(snapshot.count))
        line(name + "_sum", labels, MetricValueFormat.format(snapshot.sum))
        line(name + "_count", labels, String(snapshot.count))
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            text += labels.map { "\($0.0)=\"\(MetricValueFormat.escapeLabelValue($0.1))\"" }.joined(separator: ",")
            text += "}"
        }
        text += " \(value)\n"
    }
}
