import Glibc

/// The standard process metrics (Prometheus client conventions): resident memory from
/// /proc/self/statm, open descriptors counted in /proc/self/fd, CPU time and start time from
/// /proc/self/stat, the descriptor limit from RLIMIT_NOFILE. Owns reading and rendering them.
public enum ProcessMetrics {
    /// One reading of the process metrics.
    public struct Snapshot: Equatable, Sendable {
        /// `process_resident_memory_bytes`.
        public var residentMemoryBytes: Int
        /// `process_open_fds`.
        public var openFDs: Int
        /// `process_max_fds` (the soft limit); nil when unlimited or unknown.
        public var maxFDs: Int?
        /// `process_cpu_seconds_total`: user plus system time.
        public var cpuSeconds: Double
        /// `process_start_time_seconds`: Unix time the process started; nil when unknown.
        public var startTimeSeconds: Double?

        public init(residentMemoryBytes: Int, openFDs: Int, maxFDs: Int?, cpuSeconds: Double, startTimeSeconds: Double?) {
            self.residentMemoryBytes = residentMemoryBytes
            self.openFDs = openFDs
            self.maxFDs = maxFDs
            self.cpuSeconds = cpuSeconds
            self.startTimeSeconds = startTimeSeconds
        }
    }

    /// Reads /proc now; nil when /proc is not there (not Linux, or not mounted).
    public static func read() -> Snapshot? {
        guard let statm = ProcFile.fields("/proc/self/statm"), statm.count >= 2, let residentPages = Int(statm[1]),
              let stat = statFields(), stat.count > 19, let utime = Double(stat[11]), let stime = Double(stat[12]),
              let openFDs = ProcFile.countEntries("/proc/self/fd")
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let start = Double(stat[19]).flatMap { started in bootTime().map { $0 + started / ticks } }
        return Snapshot(residentMemoryBytes: residentPages * sysconf(Int32(_SC_PAGESIZE)), openFDs: openFDs,
                        maxFDs: descriptorLimit(), cpuSeconds: (utime + stime) / ticks, startTimeSeconds: start)
    }

    /// Appends the process families to a metrics document.
    static func render(_ snapshot: Snapshot, into out: inout MetricsTextWriter) {
        out.header("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.")
        out.sample("process_cpu_seconds_total", snapshot.cpuSeconds)
        out.header("process_open_fds", .gauge, "Number of open file descriptors.")
        out.sample("process_open_fds", snapshot.openFDs)
        if let maxFDs = snapshot.maxFDs {
            out.header("process_max_fds", .gauge, "Maximum number of open file descriptors.")
            out.sample("process_max_fds", maxFDs)
        }
        out.header("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
        out.sample("process_resident_memory_bytes", snapshot.residentMemoryBytes)
        if let start = snapshot.startTimeSeconds {
            out.header("process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.")
            out.sample("process_start_time_seconds", start)
        }
    }

    /// /proc/self/stat's fields after the command name, so index 0 is field 3 (`state`):
    /// utime is index 11, stime 12, starttime 19. The name may hold spaces and parentheses,
    /// hence the split after the last `)`.
    private static func statFields() -> [Substring]? {
        guard let bytes = ProcFile.read("/proc/self/stat"), let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        return String(decoding: bytes[(close + 1)...], as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
    }

    /// Boot time (Unix seconds) from /proc/stat's `btime` line.
    private static func bootTime() -> Double? {
        guard let fields = ProcFile.fields("/proc/stat"), let at = fields.firstIndex(of: "btime"), at + 1 < fields.count else { return nil }
        return Double(fields[at + 1])
    }

    private static func descriptorLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(exactly: limit.rlim_cur)
    }
}
