import Foundation
import Glibc
import XCTest
@testable import LifelineCore

/// A throw-away CA and certificates made with the `openssl` command line, once per
/// test run: ca.pem, server.pem/.key (SAN DNS:localhost, IP:127.0.0.1), other.key.
enum TestPKI {
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "lifeline-tls-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Lifeline Unit CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"], in: dir)
        _ = FileManager.default.createFile(atPath: dir + "/server.ext", contents: Data(
            "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n".utf8))
        run(["req", "-new"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], in: dir)
        run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-out", "server.pem", "-extfile", "server.ext"], in: dir)
        run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other.key"], in: dir)
        return dir
    }()

    static func path(_ name: String) -> String { directory + "/" + name }

    private static func run(_ arguments: [String], in directory: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { fatalError("cannot run openssl: \(error)") }
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "openssl \(arguments.joined(separator: " ")) failed")
    }

    static func clientContext(serverName: String? = nil, verify: Bool = true) throws -> TLSContext {
        try TLSContext.client(UpstreamTLSSettings(verify: verify, caFile: path("ca.pem"), serverName: serverName), urlHost: "localhost")
    }

    static func serverContext() throws -> TLSContext {
        try TLSContext.server(DownstreamTLSSettings(certFile: path("server.pem"), keyFile: path("server.key")))
    }
}

/// A non-blocking AF_UNIX socket pair: [client end, server end].
func nonBlockingSocketPair(sendBuffer: Int32? = nil) -> [Int32] {
    var fds: [Int32] = [-1, -1]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
    for fd in fds {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if var size = sendBuffer {
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
    }
    return fds
}

/// Drives both handshakes in turn until both are done (a socket pair needs no poll:
/// each step makes progress with whatever the other side has written).
func completeHandshakes(_ client: TLSSession, _ server: TLSSession, file: StaticString = #filePath, line: UInt = #line) -> (client: TLSResult, server: TLSResult) {
    var clientResult = TLSResult.incomplete(wants: IOEvents.write)
    var serverResult = TLSResult.incomplete(wants: IOEvents.read)
    for _ in 0..<100 {
        if case .incomplete = clientResult { clientResult = client.handshake() }
        if case .incomplete = serverResult { serverResult = server.handshake() }
        if case .failed = clientResult { break }
        if case .failed = serverResult { break }
        if case .complete = clientResult, case .complete = serverResult { break }
    }
    return (clientResult, serverResult)
}
