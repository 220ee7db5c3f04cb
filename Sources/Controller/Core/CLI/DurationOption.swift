import AgentProtocol
import ArgumentParser

/// Range checks for durations given on the command line, so that `inf`, `nan`
/// or `1e300` are a usage error (exit 64) instead of a trap when converted.
enum DurationOption {
    /// The longest command or test time limit: what the agent accepts (365 days).
    static let maxTimeoutSeconds = Double(ProtocolConstants.maxDurationMs / 1000)

    /// Checks `seconds` is finite and within (0, `max`]; names the flag in the error.
    static func check(_ seconds: Double?, flag: String, max: Double = maxTimeoutSeconds) throws {
        guard let seconds else { return }
        guard seconds.isFinite, seconds > 0, seconds <= max else {
            throw ValidationError("\(flag) takes a number of seconds in (0, \(Int(max))], got \(seconds)")
        }
    }

    /// Whole milliseconds for a checked duration (at least 1).
    static func milliseconds(_ seconds: Double) -> Int {
        Swift.max(1, Int((seconds * 1000).rounded(.up)))
    }
}
