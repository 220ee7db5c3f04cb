import Foundation

/// The end-of-run text for the terminal: slowest tests, failures, flaky
/// tests, makespan against its lower bound, and the closing count line last.
public enum TextSummary {
    /// Lines to print (each without newline).
    public static func lines(_ report: RunReport, slowest: Int = 10, diffLines: Int = 40) -> [String] {
        var lines: [String] = []
        let slow = report.slowest(slowest)
        if !slow.isEmpty {
            lines.append("slowest tests:")
            for attempt in slow {
                lines.append(String(format: "  %8.2fs  ", attempt.duration) + "\(attempt.name)  (\(attempt.slot))")
            }
        }
        let failures = report.failures
        if !failures.isEmpty {
            lines.append("failures:")
            for outcome in failures {
                let failure = outcome.lastFailure
                lines.append("  \(outcome.verdict.rawValue.uppercased()) \(outcome.name): \(failure?.message ?? "")")
            }
        }
        let flaky = report.outcomes.filter { $0.verdict == .flaky }
        if !flaky.isEmpty {
            lines.append("\(flaky.count) flaky (failed, then passed on retry): " + flaky.map(\.name).joined(separator: ", "))
        }
        for slot in report.quarantined {
            lines.append("quarantined \(slot)")
        }
        if !report.lostTargets.isEmpty {
            lines.append("lost targets (\(report.lostTargets.count)): " + report.lostTargets.joined(separator: "; "))
        }
        if report.notRun > 0 {
            let why = report.interrupted ? "interrupted" : report.stopReason ?? "no slot was left for them"
            lines.append("\(report.notRun) not run (\(why)); see the report for the names")
        }
        lines.append(String(format: "makespan %.2fs, lower bound %.2fs", report.makespan, report.lowerBound))
        lines.append(report.closingLine)
        return lines
    }

    /// A failure as printed live: a header and the first `diffLines` lines of its detail.
    public static func failureBlock(_ attempt: TestAttempt, diffLines: Int = 40, willRetry: Bool = false) -> [String] {
        var lines = ["\(attempt.status.rawValue.uppercased()) \(attempt.name) on \(attempt.slot)"
            + String(format: " after %.2fs", attempt.duration)
            + (attempt.message.map { ": \($0)" } ?? "") + (willRetry ? " (will retry)" : "")]
        if let detail = attempt.detail, !detail.isEmpty {
            let detailLines = detail.split(separator: "\n", omittingEmptySubsequences: false)
            lines += detailLines.prefix(diffLines).map { "    " + $0 }
            if detailLines.count > diffLines { lines.append("    … \(detailLines.count - diffLines) more lines in the report") }
        }
        return lines
    }
}
