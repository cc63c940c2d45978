import Glibc

/// Reads the small text files of /proc with plain system calls (no Foundation), and counts
/// directory entries. Owns no state.
enum ProcFile {
    /// The whole file (at most `limit` bytes), or nil when it cannot be opened.
    static func read(_ path: String, limit: Int = 64 * 1024) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, limit - filled) }
            if count > 0 { filled += count; continue }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            break
        }
        return Array(bytes[..<filled])
    }

    /// The file as text, split on ASCII whitespace.
    static func fields(_ path: String) -> [Substring]? {
        guard let bytes = read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
    }

    /// Entries of a directory other than `.`, `..` and the descriptor used to list it.
    static func countEntries(_ path: String) -> Int? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        let ownFD = String(dirfd(directory))
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." && name != ownFD { count += 1 }
        }
        return count
    }
}
