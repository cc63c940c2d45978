import LifelineCore

/// Input: configuration JSON, then (after the first NUL byte, which JSON cannot
/// contain) environment entries separated by NULs. An entry's first byte picks
/// the variable: below 0xF0 it indexes `keyPaths` (so the fuzzer reaches every
/// `LIFELINE_*` override), otherwise the rest up to '=' is a raw name suffix.
///
/// `Configuration.parse(json:environment:)` must return a configuration whose
/// `effectiveJSON()` parses back (with no environment) to an equal one and prints
/// the same text, or throw a `ConfigError` whose description is one line
/// starting with "config error: ".
enum ConfigFuzz {
    /// Every key path of spec §2 (ConfigSchema's list, repeated here: the schema is internal).
    static let keyPaths = [
        "listen", "admin_listen", "workers", "shutdown_grace_seconds", "log", "log.level", "log.format",
        "downstream", "downstream.ping_interval_seconds", "downstream.pong_timeout_seconds",
        "downstream.slow_after_missed_pongs", "downstream.max_missed_pongs", "downstream.handshake_timeout_seconds",
        "downstream.max_connections", "downstream.tls", "downstream.tls.cert_file", "downstream.tls.key_file",
        "upstream", "upstream.url", "upstream.connect_timeout_seconds", "upstream.ping_interval_seconds",
        "upstream.pong_timeout_seconds", "upstream.slow_after_missed_pongs", "upstream.max_missed_pongs",
        "upstream.max_lifetime_seconds", "upstream.rotation_jitter_seconds", "upstream.rotate_on_match",
        "upstream.on_close", "upstream.reconnect", "upstream.reconnect.initial_delay_seconds",
        "upstream.reconnect.max_delay_seconds", "upstream.reconnect.multiplier", "upstream.reconnect.jitter",
        "upstream.reconnect.max_attempts", "upstream.replay", "upstream.replay.mode", "upstream.replay.match",
        "upstream.replay.max_messages", "upstream.replay.max_bytes", "upstream.dedupe_window", "upstream.headers",
        "upstream.tls", "upstream.tls.verify", "upstream.tls.ca_file", "upstream.tls.server_name",
        "limits", "limits.max_message_bytes", "limits.max_buffered_bytes",
    ]

    static func run(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) {
        let bytes = Array(input)
        let parts = bytes.split(separator: 0, maxSplits: .max, omittingEmptySubsequences: false)
        let json = Array(parts.first ?? [])
        var environment: [String: String] = [:]
        for entry in parts.dropFirst() where !entry.isEmpty {
            let selector = entry[entry.startIndex]
            let rest = entry.dropFirst()
            if selector < 0xF0 {
                let name = Configuration.environmentVariable(for: keyPaths[Int(selector) % keyPaths.count])
                environment[name] = String(decoding: rest, as: UTF8.self)
            } else {
                let name = rest.prefix { $0 != UInt8(ascii: "=") }
                let value = rest.dropFirst(name.count + 1)
                environment["LIFELINE_" + String(decoding: name, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
            }
        }

        let ignored = Configuration.ignoredEnvironmentVariables(in: environment)
        try require(ignored == ignored.sorted() && ignored.allSatisfy { $0.hasPrefix("LIFELINE_") && environment[$0] != nil },
                    "ignoredEnvironmentVariables: \(ignored)")

        switch outcome(json, environment) {
        case .failure(let message):
            throw InvariantViolation(message)
        case .error(let error):
            // Bytes, not Characters: a key may start with a combining mark, which joins
            // the space before it into one Character (ConfigError escapes it, but the
            // contract is the bytes `main` writes).
            try require(error.description.utf8.starts(with: "config error: ".utf8), "error without the prefix: \(error.description)")
            try require(!error.description.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F },
                        "error message is not one line: \(error.description.debugDescription)")
        case .config(let configuration):
            let text = configuration.effectiveJSON()
            switch outcome(Array(text.utf8), [:]) {
            case .config(let again):
                try require(again == configuration, "effectiveJSON round trip differs:\n\(text)")
                try require(again.effectiveJSON() == text, "effectiveJSON not stable:\n\(text)\n\(again.effectiveJSON())")
            case .error(let error):
                throw InvariantViolation("effectiveJSON does not parse back: \(error.description)\n\(text)")
            case .failure(let message):
                throw InvariantViolation(message)
            }
        }
    }

    enum Outcome: Equatable {
        case config(Configuration)
        case error(ConfigError)
        case failure(String)
    }

    static func outcome(_ json: [UInt8], _ environment: [String: String]) -> Outcome {
        do {
            return .config(try Configuration.parse(json: json, environment: environment))
        } catch let error as ConfigError {
            return .error(error)
        } catch {
            return .failure("parse threw \(type(of: error)), not ConfigError: \(error)")
        }
    }
}
