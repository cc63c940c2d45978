/// The whole validated configuration of spec §2, with every default in the
/// initialisers of its parts. Built by `Configuration.load` / `parse` (file,
/// then `LIFELINE_*` environment overrides, then validation); printed back by
/// `effectiveJSON()` for `--check-config`.
public struct Configuration: Equatable, Sendable {
    /// Downstream listener address (default 127.0.0.1:8080).
    public var listen: HostPort
    /// Admin HTTP listener (/metrics, /healthz, ...); nil = no admin listener (default 127.0.0.1:9901).
    public var adminListen: HostPort?
    /// Event loop threads (count, 1–256); the number of online cores when `workersIsAuto`.
    public var workers: Int
    /// `workers` was "auto" (printed back as "auto").
    public var workersIsAuto: Bool
    /// Seconds to drain sessions after SIGTERM/SIGINT before exiting.
    public var shutdownGraceSeconds: Double
    /// Log level and format.
    public var log: LogSettings
    /// The application side.
    public var downstream: DownstreamSettings
    /// The real-server side.
    public var upstream: UpstreamSettings
    /// Size limits.
    public var limits: LimitsSettings

    public init(listen: HostPort = HostPort(host: "127.0.0.1", port: 8080),
                adminListen: HostPort? = HostPort(host: "127.0.0.1", port: 9901),
                workers: Int = 1, workersIsAuto: Bool = false, shutdownGraceSeconds: Double = 10,
                log: LogSettings = LogSettings(), downstream: DownstreamSettings = DownstreamSettings(),
                upstream: UpstreamSettings, limits: LimitsSettings = LimitsSettings()) {
        self.listen = listen
        self.adminListen = adminListen
        self.workers = workers
        self.workersIsAuto = workersIsAuto
        self.shutdownGraceSeconds = shutdownGraceSeconds
        self.log = log
        self.downstream = downstream
        self.upstream = upstream
        self.limits = limits
    }
}
