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
        // Fuzzing (Fuzz/README.md). The harnesses and their invariants live in a library so the
        // unit tests replay the seed corpus through them; each executable is a libFuzzer target
        // when scripts/fuzz builds it (-sanitize=fuzzer -DLIBFUZZER), a corpus replay runner otherwise.
        .target(name: "LifelineFuzzKit", dependencies: ["LifelineCore"], path: "Fuzz/Kit"),
        .executableTarget(name: "fuzz-frame-decoder", dependencies: ["LifelineFuzzKit"], path: "Fuzz/Targets/frame-decoder"),
        .executableTarget(name: "fuzz-request-parser", dependencies: ["LifelineFuzzKit"], path: "Fuzz/Targets/request-parser"),
        .executableTarget(name: "fuzz-response-parser", dependencies: ["LifelineFuzzKit"], path: "Fuzz/Targets/response-parser"),
        .executableTarget(name: "fuzz-config", dependencies: ["LifelineFuzzKit"], path: "Fuzz/Targets/config"),
        .testTarget(name: "LifelineFuzzTests", dependencies: ["LifelineFuzzKit"], path: "Fuzz/Tests"),
    ],
    swiftLanguageModes: [.v5]
)
