// swift-tools-version:6.0
// Lifeline: a sidecar WebSocket keep-alive proxy on libev.
// No Swift package dependencies: the toolchain plus Debian's libev and OpenSSL.
import PackageDescription

let package = Package(
    name: "Lifeline",
    products: [
        .executable(name: "lifeline", targets: ["lifeline"]),
    ],
    targets: [
        // libev through a module map and a shim of static inline wrappers for its macros.
        .systemLibrary(name: "CLibev", path: "Sources/CLibev", providers: [.apt(["libev-dev"])]),
        // OpenSSL (TLS, SHA-1, random bytes), same pattern.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "LifelineCore",
            dependencies: ["CLibev", "COpenSSL"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(name: "lifeline", dependencies: ["LifelineCore"]),
        .testTarget(name: "LifelineCoreTests", dependencies: ["LifelineCore"]),
    ],
    swiftLanguageModes: [.v5]
)
