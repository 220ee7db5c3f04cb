import AgentProtocol
import ArgumentParser

/// Range checks for durations given on the command line, so that `inf`, `nan`
/// or `1e300` are a usage error (exit 64) instead of a trap when converted.
///
/// Every duration flag is declared with `parsing: .unconditional`, so that
/// `--timeout -1` reaches these checks (and is refused as negative) instead of
/// the parser taking `-1` for a flag and reporting a missing value.
enum DurationOption {
    /// The longest command or test time limit: what the agent accepts (365 days).
    static let maxTimeoutSeconds = Double(ProtocolConstants.maxDurationMs / 1000)

    /// Checks `seconds` is finite and within (0, `max`] (or [`min`, `max`]); names the flag in the error.
    static func check(_ seconds: Double?, flag: String, min: Double? = nil, max: Double = maxTimeoutSeconds) throws {
        guard let seconds else { return }
        if seconds < 0 { throw negative(flag: flag, got: Self.text(seconds), expected: range(min: min, max: max)) }
        let low = min.map { seconds >= $0 } ?? (seconds > 0)
        guard seconds.isFinite, low, seconds <= max else {
            throw ValidationError("\(flag) takes \(range(min: min, max: max)), got \(Self.text(seconds))")
        }
    }

    /// The error for a negative duration: the same words for every flag.
    static func negative(flag: String, got: String, expected: String? = nil) -> ValidationError {
        ValidationError("\(flag) must not be negative (got \(got))" + (expected.map { "; it takes \($0)" } ?? ""))
    }

    private static func range(min: Double?, max: Double) -> String {
        min.map { "\(text($0)) to \(Int(max)) seconds" } ?? "a number of seconds in (0, \(Int(max))]"
    }

    /// `-1` rather than `-1.0` when the number is whole.
    private static func text(_ seconds: Double) -> String {
        seconds.isFinite && seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
    }

    /// Whole milliseconds for a checked duration (at least 1).
    static func milliseconds(_ seconds: Double) -> Int {
        Swift.max(1, Int((seconds * 1000).rounded(.up)))
    }
}
