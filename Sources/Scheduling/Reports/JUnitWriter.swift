import Foundation

/// Writes JUnit XML: one `<testsuite>` per run, one `<testcase>` per test.
///
/// Failures carry the last failing attempt's diff; flaky tests pass with a
/// `<flakyFailure>` element (the Surefire convention) for each failed try.
public enum JUnitWriter {
    /// The XML document.
    public static func render(_ report: RunReport) -> String {
        let errors = report.outcomes.filter { $0.verdict == .error }.count
        let failures = report.outcomes.filter { $0.verdict == .failed || $0.verdict == .timedOut }.count
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
        xml += "  <testsuite name=\"\(XMLText.escape(report.project))\" tests=\"\(report.outcomes.count)\""
        xml += " failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(report.skipped + report.notRun)\""
        xml += " time=\"\(seconds(report.makespan))\" timestamp=\"\(Timestamp.iso(report.started))\">\n"
        for outcome in report.outcomes {
            let last = outcome.last
            xml += "    <testcase classname=\"\(XMLText.escape(report.runner))\" name=\"\(XMLText.escape(outcome.name))\""
            xml += " time=\"\(seconds(last?.duration ?? 0))\">\n"
            switch outcome.verdict {
            case .passed:
                break
            case .skipped:
                xml += "      <skipped message=\"\(XMLText.escape(last?.message ?? ""))\"/>\n"
            case .notRun:
                // JUnit has no "not run": skipped, with a message that says why.
                xml += "      <skipped message=\"not run: \(XMLText.escape(last?.message ?? "the run ended first"))\"/>\n"
            case .failed, .timedOut:
                xml += element("failure", outcome.lastFailure, type: outcome.verdict.rawValue)
            case .error:
                xml += element("error", outcome.lastFailure, type: "error")
            case .flaky:
                for attempt in outcome.attempts where attempt.status.isFailure {
                    xml += element("flakyFailure", attempt, type: attempt.status.rawValue)
                }
            }
            if let last {
                xml += "      <system-out>slot \(XMLText.escape(last.slot.description)), attempt \(last.attempt)</system-out>\n"
            }
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    private static func element(_ tag: String, _ attempt: TestAttempt?, type: String) -> String {
        let message = XMLText.escape(attempt?.message ?? type)
        let body = XMLText.escape(attempt?.detail ?? "")
        return "      <\(tag) message=\"\(message)\" type=\"\(type)\">\(body)</\(tag)>\n"
    }

    static func seconds(_ value: Double) -> String {
        String(format: "%.3f", value)
    }
}
