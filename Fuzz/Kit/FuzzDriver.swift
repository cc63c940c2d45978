#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `main` of every fuzz executable. Built by `scripts/fuzz` (with
/// `-sanitize=fuzzer -DLIBFUZZER`) it hands control to libFuzzer; in a normal
/// `swift build` it is a corpus replay runner: `fuzz-<target> FILE|DIR...`
/// runs each input once and exits 1 on the first broken invariant.
public enum FuzzDriver {
    public static func main(_ target: FuzzTarget) -> Never {
        #if LIBFUZZER
        activeTarget = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in
            fuzzOneInput(data, size)
        }))
        #else
        exit(replay(target, paths: Array(CommandLine.arguments.dropFirst())))
        #endif
    }

    /// Runs every file under `paths` (files or directories, not recursive); 0 when all pass.
    public static func replay(_ target: FuzzTarget, paths: [String]) -> Int32 {
        if paths.isEmpty || paths.contains(where: { $0.hasPrefix("-") }) {
            print("usage: fuzz-\(target.rawValue) FILE|DIR...  (replays inputs; scripts/fuzz builds the libFuzzer binary)")
            return 2
        }
        var count = 0
        for path in paths {
            for file in Corpus.files(at: path) {
                guard let bytes = Corpus.read(file) else {
                    print("fuzz-\(target.rawValue): cannot read \(file)")
                    return 1
                }
                do {
                    try target.run(bytes)
                } catch {
                    print("fuzz-\(target.rawValue): \(file): INVARIANT BROKEN: \(error)")
                    return 1
                }
                count += 1
            }
        }
        print("fuzz-\(target.rawValue): replayed \(count) inputs, all invariants hold")
        return 0
    }
}

/// Reading corpus folders without Foundation.
public enum Corpus {
    /// `path` itself when it is a file, else the regular files in it, sorted.
    public static func files(at path: String) -> [String] {
        guard let dir = opendir(path) else { return [path] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name.hasPrefix(".") || name == "README.md" { continue }
            names.append(path + "/" + name)
        }
        return names.sorted()
    }

    /// The whole file, or nil.
    public static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n > 0 { bytes += chunk[..<n] }
            if n < chunk.count { return ferror(file) == 0 ? bytes : nil }
        }
    }
}

#if LIBFUZZER
nonisolated(unsafe) private var activeTarget = FuzzTarget.frameDecoder

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// libFuzzer's per-input hook. Also defined under its well-known name because
/// the fuzzer runtime's own (unused: SwiftPM's `main` wins) `main` refers to it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    do {
        try activeTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        fatalError("fuzz-\(activeTarget.rawValue): INVARIANT BROKEN: \(error)")
    }
    return 0
}
#endif
