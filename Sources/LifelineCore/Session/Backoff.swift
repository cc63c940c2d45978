#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The delays between failed upstream connection attempts (spec
/// `upstream.reconnect`): exponential growth capped at the maximum, then a
/// random spread. Owns only the settings; the caller counts attempts and
/// supplies the randomness.
///
/// Attempts are numbered from 1 = the first retry after a failure; the delay
/// before attempt n is min(initial × multiplier^(n−1), max), scaled by a factor
/// in [1 − jitter, 1 + jitter] (so a capped delay may exceed max by up to
/// jitter × max), never below 0.001 s. `maxAttempts` counts those retries.
public struct Backoff: Equatable, Sendable {
    /// The shortest delay ever returned, in seconds (the spec's lower bound on delays).
    public static let minimumDelay = 0.001

    public let settings: ReconnectSettings

    public init(settings: ReconnectSettings) {
        self.settings = settings
    }

    /// Seconds to wait before attempt `attempt` (values below 1 count as 1).
    /// `random` in [0, 1) picks the spread: 0 → 1 − jitter, 1 → 1 + jitter.
    public func delay(attempt: Int, random: Double) -> Double {
        let exponent = Double(max(attempt, 1) - 1)
        let grown = settings.initialDelaySeconds * pow(settings.multiplier, exponent)
        let capped = grown.isNaN ? settings.maxDelaySeconds : min(grown, settings.maxDelaySeconds)
        let jitter = min(max(settings.jitter, 0), 1)
        let spread = min(max(random, 0), 1)
        let factor = 1 - jitter + 2 * jitter * spread
        return max(capped * factor, Self.minimumDelay)
    }

    /// False once `attempt` exceeds `maxAttempts` (0 = never exhausted).
    public func allows(attempt: Int) -> Bool {
        settings.maxAttempts == 0 || attempt <= settings.maxAttempts
    }
}
