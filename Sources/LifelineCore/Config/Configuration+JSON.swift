extension Configuration {
    /// The effective configuration as pretty JSON with the spec's key names
    /// and order (for --check-config); round-trips through `parse`. `workers`
    /// prints "auto" when configured so.
    public func effectiveJSON() -> String {
        JSONWriter.pretty(json) + "\n"
    }

    var json: JSONValue {
        .object([
            ("listen", .string(listen.description)),
            ("admin_listen", adminListen.map { .string($0.description) } ?? .null),
            ("workers", workersIsAuto ? .string("auto") : .number(workers)),
            ("shutdown_grace_seconds", .number(shutdownGraceSeconds)),
            ("log", log.json),
            ("downstream", downstream.json),
            ("upstream", upstream.json),
            ("limits", limits.json),
        ])
    }
}
