// Entry point: arguments, configuration, signals; everything else lives in LifelineCore.
import Foundation
import LifelineCore

// SIGPIPE must never kill the process: a peer that vanishes mid-write is an ordinary event.
signal(SIGPIPE, SIG_IGN)

let environment = ProcessInfo.processInfo.environment

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
case .success(.demo):
    fail("lifeline demo: not available in this build yet", code: 1)
case .success(.run(let path)):
    let configuration = loadConfiguration(path)
    Logger.shared.apply(configuration.log)
    let server = Server(configuration: configuration, configPath: path, environment: environment)
    exit(server.run())
}
