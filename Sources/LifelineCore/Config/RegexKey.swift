import Foundation

extension ConfigObject {
    /// A string-or-null key holding a regular expression (NSRegularExpression /
    /// ICU syntax, the engine the relay matches with); it must compile and not be empty.
    func regex(_ key: String) throws -> String? {
        guard let pattern = try optionalString(key, expected: "a regular expression") else { return nil }
        guard !pattern.isEmpty else {
            throw ConfigError.invalid(path(key), .string(pattern), "must be a non-empty regular expression, or null")
        }
        do {
            _ = try NSRegularExpression(pattern: pattern)
        } catch {
            throw ConfigError.invalid(path(key), .string(pattern), "must be a valid regular expression")
        }
        return pattern
    }
}
