import Foundation

/// Writes one JSON object per test attempt: test, attempt, status, slot,
/// host, target, start, end (ISO 8601, milliseconds), duration, message,
/// detail, infrastructure, and `reported` (when the controller received it).
public enum JSONLinesWriter {
    /// One event line (no trailing newline).
    public static func line(for attempt: TestAttempt) -> String {
        var object: [String: Any] = [
            "test": attempt.name,
            "attempt": attempt.attempt,
            "status": attempt.status.rawValue,
            "slot": attempt.slot.description,
            "host": attempt.slot.host,
            "target": attempt.slot.target,
            "start": Timestamp.iso(attempt.start),
            "end": Timestamp.iso(attempt.end),
            "duration": (attempt.duration * 1000).rounded() / 1000,
            "infrastructure": attempt.infrastructure,
        ]
        if let message = attempt.message { object["message"] = message }
        if let detail = attempt.detail { object["detail"] = detail }
        if let reported = attempt.reported { object["reported"] = Timestamp.iso(reported) }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// The whole report as JSON lines, attempts in arrival order.
    public static func render(_ report: RunReport) -> String {
        report.attempts.map { line(for: $0) + "\n" }.joined()
    }
}

/// Timestamp formatting shared by the writers.
enum Timestamp {
    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
