// Entry point: arguments, configuration, signals; everything else lives in LifelineCore.
import Foundation
import LifelineCore

// SIGPIPE must never kill the process: a peer that vanishes mid-write is an ordinary event.
signal(SIGPIPE, SIG_IGN)

let environment = ProcessInfo.processInfo.environment

/// A session holds two descriptors: take the whole hard limit (as HAProxy does) rather than
/// the usual 1,024 soft default, so `downstream.max_connections` is what limits sessions.
func raiseDescriptorLimit() {
    var limit = rlimit()
    let resource = Int32(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(resource, &limit)
}

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(code)
}

func loadConfiguration(_ path: String) -> Configuration {
    do {
        return try Configuration.load(path: path, environment: environment)
    } catch let error as ConfigError {
        fail(error.description, code: 2)
    } catch {
        fail("config error: \(error)", code: 2)
    }
}

switch CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()), environment: environment) {
case .failure(let error):
    fail("lifeline: \(error.message)\n\(CommandLineOptions.usageHint)", code: 2)
case .success(.help):
    print(CommandLineOptions.usage)
case .success(.version):
    print("lifeline \(LifelineVersion.string)")
case .success(.checkConfig(let path)):
    print(loadConfiguration(path).effectiveJSON())
case .success(.demo(let durationSeconds)):
    exit(Demo(durationSeconds: durationSeconds).run())
case .success(.run(let path)):
    let configuration = loadConfiguration(path)
    raiseDescriptorLimit()
    Logger.shared.apply(configuration.log)
    let server = Server(configuration: configuration, configPath: path, environment: environment)
    exit(server.run())
}
