import CLibev
import Glibc

/// The POSIX socket calls Lifeline makes, normalised at the boundary: flags and
/// constants converted once, errors returned as errno values.
enum Socket {
    static let nonBlockingCloexec = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    static let streamType = Int32(SOCK_STREAM.rawValue) | nonBlockingCloexec

    /// A bound, listening, non-blocking socket.
    static func listen(on address: SocketAddress, reusePort: Bool, backlog: Int32 = 4096) throws(SocketError) -> Int32 {
        let fd = socket(address.family, streamType, 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
        setFlag(fd, SOL_SOCKET, SO_REUSEADDR)
        if reusePort { setFlag(fd, SOL_SOCKET, SO_REUSEPORT) }
        if address.family == AF_INET6 { setFlag(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY) }
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0 else { let code = errno; close(fd); throw SocketError(operation: "bind", code: code) }
        guard Glibc.listen(fd, backlog) == 0 else { let code = errno; close(fd); throw SocketError(operation: "listen", code: code) }
        return fd
    }

    /// Throws when `address` is taken (a plain bind, without SO_REUSEPORT, fails), so a
    /// group of SO_REUSEPORT listeners never joins another process's port unnoticed.
    static func checkFree(_ address: SocketAddress) throws(SocketError) {
        guard address.port != 0 else { return }
        let fd = try listen(on: address, reusePort: false, backlog: 1)
        close(fd)
    }

    /// The address a socket is bound to (for port 0 listeners).
    static func localAddress(_ fd: Int32) -> SocketAddress {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address.storage) {
            getsockname(fd, UnsafeMutableRawPointer($0).assumingMemoryBound(to: sockaddr.self), &address.length)
        }
        return address
    }

    /// Accepts one pending connection: the fd and peer, nil when none is pending, or the errno.
    static func accept(_ listener: Int32) -> Result<(Int32, SocketAddress)?, SocketError> {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &address.storage) {
            lifeline_accept4(listener, UnsafeMutableRawPointer($0).assumingMemoryBound(to: sockaddr.self), &address.length, nonBlockingCloexec)
        }
        if fd >= 0 { return .success((fd, address)) }
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK || code == EINTR || code == ECONNABORTED { return .success(nil) }
        return .failure(SocketError(operation: "accept", code: code))
    }

    /// Starts a non-blocking connect; completion is signalled by writability + `pendingError`.
    static func connect(to address: SocketAddress) throws(SocketError) -> Int32 {
        let fd = socket(address.family, streamType, 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
        let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if result != 0 && errno != EINPROGRESS {
            let code = errno
            close(fd)
            throw SocketError(operation: "connect", code: code)
        }
        return fd
    }

    /// SO_ERROR: 0 once a non-blocking connect has succeeded.
    static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }

    /// Options for a relaying TCP socket: no Nagle delay, and a small unsent backlog in the
    /// kernel so queued data waits in Lifeline's queue, where a control frame can pass it.
    static func configureForRelay(_ fd: Int32, notSentLowWater: Int32 = 16 * 1024) {
        setFlag(fd, Int32(IPPROTO_TCP), TCP_NODELAY)
        var lowWater = notSentLowWater
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT, &lowWater, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func setFlag(_ fd: Int32, _ level: Int32, _ option: Int32) {
        var on: Int32 = 1
        _ = setsockopt(fd, level, option, &on, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// A failed socket call: which one and its errno.
struct SocketError: Error, CustomStringConvertible {
    var operation: String
    var code: Int32
    var description: String { "\(operation): \(String(cString: strerror(code)))" }
}
