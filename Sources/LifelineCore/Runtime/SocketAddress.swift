import Glibc

/// An IPv4 or IPv6 socket address (sockaddr_storage plus its length) and its text form.
public struct SocketAddress: CustomStringConvertible {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    var family: Int32 { Int32(storage.ss_family) }

    /// A numeric host (no name lookup) and a port, or nil when `host` is not a literal.
    public init?(literalHost host: String, port: Int) {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, bare, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            self.init(copying: v4)
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, bare, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            self.init(copying: v6)
            return
        }
        return nil
    }

    init<T>(copying address: T) {
        withUnsafeBytes(of: address) { source in
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
        }
        length = socklen_t(MemoryLayout<T>.size)
    }

    init(raw: UnsafePointer<sockaddr>, length: socklen_t) {
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: Int(length))) }
        self.length = length
    }

    init() {}

    /// The address without the port ("127.0.0.1", "::1").
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var storage = self.storage
        return withUnsafePointer(to: &storage) { pointer -> String in
            let raw = UnsafeRawPointer(pointer)
            if family == AF_INET {
                let address = raw.assumingMemoryBound(to: sockaddr_in.self)
                var inAddr = address.pointee.sin_addr
                inet_ntop(AF_INET, &inAddr, &text, socklen_t(text.count))
            } else if family == AF_INET6 {
                let address = raw.assumingMemoryBound(to: sockaddr_in6.self)
                var in6Addr = address.pointee.sin6_addr
                inet_ntop(AF_INET6, &in6Addr, &text, socklen_t(text.count))
            } else {
                return "?"
            }
            return String(cString: text)
        }
    }

    public var port: Int {
        var storage = self.storage
        return withUnsafePointer(to: &storage) { pointer -> Int in
            let raw = UnsafeRawPointer(pointer)
            if family == AF_INET { return Int(UInt16(bigEndian: raw.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port)) }
            if family == AF_INET6 { return Int(UInt16(bigEndian: raw.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port)) }
            return 0
        }
    }

    /// 127.0.0.0/8 or ::1 (and IPv4-mapped 127.x).
    public var isLoopback: Bool {
        let text = host
        return text.hasPrefix("127.") || text == "::1" || text.hasPrefix("::ffff:127.")
    }

    public var description: String { family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var storage = self.storage
        return withUnsafePointer(to: &storage) { body(UnsafeRawPointer($0).assumingMemoryBound(to: sockaddr.self), length) }
    }
}
