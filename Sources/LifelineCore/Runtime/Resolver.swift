import Dispatch
import Glibc

/// Turns an upstream host name into addresses without blocking the loop: numeric hosts
/// are answered at once; names go to `getaddrinfo` on a Dispatch queue and the answer
/// comes back on the loop through its mailbox (`ev_async`). Resolved anew every time.
enum Resolver {
    typealias Completion = (Result<[SocketAddress], ResolveError>) -> Void

    static func resolve(host: String, port: Int, on loop: EventLoop, completion: @escaping Completion) {
        if let literal = SocketAddress(literalHost: host, port: port) {
            completion(.success([literal]))
            return
        }
        let box = UncheckedBox((loop, completion))
        DispatchQueue.global().async {
            let result = lookUp(host: host, port: port)
            let (loop, completion) = box.value
            loop.post { completion(result) }
        }
    }

    /// Blocking lookup; only ever called off the loop.
    static func lookUp(host: String, port: Int) -> Result<[SocketAddress], ResolveError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            return .failure(ResolveError(host: host, message: String(cString: gai_strerror(status))))
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let raw = entry.pointee.ai_addr, entry.pointee.ai_family == AF_INET || entry.pointee.ai_family == AF_INET6 {
                addresses.append(SocketAddress(raw: raw, length: entry.pointee.ai_addrlen))
            }
            cursor = entry.pointee.ai_next
        }
        return addresses.isEmpty ? .failure(ResolveError(host: host, message: "no address")) : .success(addresses)
    }
}

/// A name that did not resolve.
struct ResolveError: Error, CustomStringConvertible {
    var host: String
    var message: String
    var description: String { "resolving \(host): \(message)" }
}

/// Carries a loop-confined value through another thread untouched.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
