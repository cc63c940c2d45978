/// Turns a request target into the path+query appended to the upstream URL path. The upstream
/// host never comes from here: an absolute-form target (ws, wss, http, https) contributes only
/// its path and query; its authority is discarded. Origin-form passes through unchanged.
/// Asterisk-form, authority-form, other schemes and fragments are refused.
enum RequestTarget {
    static func path(of target: String) -> String? {
        if target.contains("#") { return nil }
        if target.hasPrefix("/") { return target }
        guard let sep = target.firstRange(of: "://") else { return nil }
        let scheme = target[..<sep.lowerBound].lowercased()
        guard ["ws", "wss", "http", "https"].contains(scheme) else { return nil }
        let rest = target[sep.upperBound...]
        guard let pathStart = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else {
            return rest.isEmpty ? nil : "/"
        }
        if rest[..<pathStart].isEmpty { return nil }   // no authority
        let tail = rest[pathStart...]
        return tail.first == "?" ? "/" + tail : String(tail)
    }

    /// True when the path (before any query) has a "." or ".." segment, plain or
    /// percent-encoded. Appended to the upstream URL's path such a segment could climb
    /// out of it (`/api/ws` + `/../admin`), and Lifeline may add credentials
    /// (`upstream.headers`) that were never meant for other paths, so it is refused.
    static func hasDotSegment(_ path: String) -> Bool {
        let pathOnly = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return pathOnly.split(separator: "/", omittingEmptySubsequences: false).contains { segment in
            let decoded = segment.lowercased().replacing("%2e", with: ".")
            return decoded == "." || decoded == ".."
        }
    }
}
