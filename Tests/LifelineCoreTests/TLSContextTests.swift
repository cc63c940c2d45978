import XCTest
@testable import LifelineCore

/// Building SSL_CTXs from the configuration: errors name the field and the file.
final class TLSContextTests: XCTestCase {
    private func setupError(_ body: () throws -> TLSContext) -> TLSSetupError? {
        do {
            _ = try body()
            return nil
        } catch let error as TLSSetupError {
            return error
        } catch {
            XCTFail("unexpected error \(error)")
            return nil
        }
    }

    func testMissingCAFileIsNamed() {
        let missing = TestPKI.directory + "/no-such-ca.pem"
        let error = setupError { try TLSContext.client(UpstreamTLSSettings(caFile: missing), urlHost: "example.com") }
        XCTAssertEqual(error?.field, "upstream.tls.ca_file")
        XCTAssertEqual(error?.description, "upstream.tls.ca_file = \(missing): cannot read it: No such file or directory")
    }

    func testCAFileWithoutCertificatesIsRefused() {
        let error = setupError { try TLSContext.client(UpstreamTLSSettings(caFile: TestPKI.path("server.ext")), urlHost: "example.com") }
        XCTAssertEqual(error?.field, "upstream.tls.ca_file")
        XCTAssertTrue(error?.description.contains("no usable CA certificate") ?? false, "\(String(describing: error))")
    }

    func testMissingCAFileIsIgnoredWhenVerificationIsOff() throws {
        let context = try TLSContext.client(UpstreamTLSSettings(verify: false, caFile: "/nonexistent"), urlHost: "example.com")
        XCTAssertFalse(context.verifiesPeer)
    }

    func testClientContextKeepsThePeerName() throws {
        XCTAssertEqual(try TLSContext.client(UpstreamTLSSettings(), urlHost: "stream.example.com").peer,
                       TLSPeerName("stream.example.com"))
        let byIP = try TLSContext.client(UpstreamTLSSettings(), urlHost: "127.0.0.1").peer
        XCTAssertEqual(byIP?.isIPAddress, true)
        XCTAssertEqual(try TLSContext.client(UpstreamTLSSettings(), urlHost: "::1").peer?.isIPAddress, true)
        let overridden = try TLSContext.client(UpstreamTLSSettings(serverName: "other.example"), urlHost: "10.0.0.1").peer
        XCTAssertEqual(overridden, TLSPeerName("other.example"))
        XCTAssertEqual(overridden?.isIPAddress, false)
    }

    func testCertificateAndKeyLoad() throws {
        XCTAssertEqual(try TestPKI.serverContext().kind, .server)
    }

    func testMismatchedKeyIsRefused() {
        let error = setupError {
            try TLSContext.server(DownstreamTLSSettings(certFile: TestPKI.path("server.pem"), keyFile: TestPKI.path("other.key")))
        }
        XCTAssertEqual(error?.field, "downstream.tls.key_file")
        XCTAssertEqual(error?.file, TestPKI.path("other.key"))
        XCTAssertTrue(error?.description.contains("does not match the certificate in \(TestPKI.path("server.pem"))") ?? false,
                      "\(String(describing: error))")
    }

    func testMissingCertificateFileIsNamed() {
        let missing = TestPKI.directory + "/missing.pem"
        let error = setupError { try TLSContext.server(DownstreamTLSSettings(certFile: missing, keyFile: TestPKI.path("server.key"))) }
        XCTAssertEqual(error?.description, "downstream.tls.cert_file = \(missing): cannot read it: No such file or directory")
    }

    func testKeyFileThatIsNotAKeyIsRefused() {
        let error = setupError {
            try TLSContext.server(DownstreamTLSSettings(certFile: TestPKI.path("server.pem"), keyFile: TestPKI.path("server.ext")))
        }
        XCTAssertEqual(error?.field, "downstream.tls.key_file")
    }

    func testContextsFollowTheConfiguration() throws {
        var configuration = Configuration(upstream: UpstreamSettings(url: try UpstreamURL(parsing: "ws://127.0.0.1:9000")))
        var contexts = try TLSContexts.build(for: configuration)
        XCTAssertNil(contexts.upstream)
        XCTAssertNil(contexts.downstream)
        configuration.upstream.url = try UpstreamURL(parsing: "wss://127.0.0.1:9000")
        configuration.downstream.tls = DownstreamTLSSettings(certFile: TestPKI.path("server.pem"), keyFile: TestPKI.path("server.key"))
        contexts = try TLSContexts.build(for: configuration)
        XCTAssertEqual(contexts.upstream?.kind, .client)
        XCTAssertEqual(contexts.downstream?.kind, .server)
    }
}
