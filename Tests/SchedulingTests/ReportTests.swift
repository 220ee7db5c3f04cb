import Foundation
import Testing
@testable import Scheduling

@Suite("Reports")
struct ReportTests {
    static func sample() -> RunReport {
        let s = slots(2)
        let pass = attempt("test-pass", .passed, on: s[0], at: 0, for: 3)
        let skip = attempt("test-skip", .skipped, on: s[1], at: 0, for: 0.1, message: "missing feature")
        let fail = attempt("test-<fail>", .failed, on: s[1], at: 0.1, for: 1, message: "output changed", detail: "--- a\n+++ b\n-x & y\n+z")
        var flaky1 = attempt("test-flaky", .failed, on: s[0], at: 3, for: 1, message: "exit 1")
        flaky1.attempt = 1
        var flaky2 = attempt("test-flaky", .passed, on: s[1], at: 4, for: 1)
        flaky2.attempt = 2
        let outcomes = [
            TestOutcome(name: "test-pass", verdict: .passed, attempts: [pass]),
            TestOutcome(name: "test-skip", verdict: .skipped, attempts: [skip]),
            TestOutcome(name: "test-<fail>", verdict: .failed, attempts: [fail]),
            TestOutcome(name: "test-flaky", verdict: .flaky, attempts: [flaky1, flaky2]),
        ]
        return RunReport(runID: "r1", project: "demo", runner: "command", started: epoch, finished: epoch.addingTimeInterval(5),
                         slots: s, attempts: [pass, skip, fail, flaky1, flaky2], outcomes: outcomes)
    }

    @Test("counts, makespan and the closing line")
    func summary() {
        let report = Self.sample()
        #expect(report.closingLine == "1 passed, 1 failed, 1 skipped")
        #expect(report.flaky == 1)
        #expect(report.makespan == 5)
        #expect(abs(report.lowerBound - 3.05) < 1e-6)
        let lines = TextSummary.lines(report)
        #expect(lines.last == "1 passed, 1 failed, 1 skipped")
        #expect(lines.contains("makespan 5.00s, lower bound 3.05s"))
        #expect(lines.contains { $0.hasPrefix("1 flaky") && $0.contains("test-flaky") })
    }

    @Test("JSON lines: one parseable event per attempt with slot, host, start, end, status")
    func jsonLines() throws {
        let text = JSONLinesWriter.render(Self.sample())
        let lines = text.split(separator: "\n")
        #expect(lines.count == 5)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["test", "status", "slot", "host", "start", "end", "duration", "attempt"] {
                #expect(object[key] != nil, "missing \(key)")
            }
        }
        #expect(lines[2].contains(#""status":"fail""#))
        #expect(lines[0].contains(#""start":"2023-11-14T22:13:20.000Z""#))
    }

    @Test("JUnit XML counts and escapes, and marks flaky tests")
    func junit() {
        let xml = JUnitWriter.render(Self.sample())
        #expect(xml.contains(#"tests="4" failures="1" errors="0" skipped="1""#))
        #expect(xml.contains(#"name="test-&lt;fail&gt;""#))
        #expect(xml.contains("-x &amp; y"))
        #expect(xml.contains("<flakyFailure"))
        #expect(xml.components(separatedBy: "<testcase ").count - 1 == 4)
    }

    @Test("HTML page: self-contained, one timeline bar per attempt, failures with diffs")
    func html() throws {
        let html = HTMLReportWriter.render(Self.sample())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("http://") || !html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
        #expect(html.components(separatedBy: "class=\"test ").count - 1 == 5)
        #expect(html.contains("-x &amp; y"))
        #expect(html.contains("test-&lt;fail&gt;"))
        #expect(html.contains("localhost#1"))
    }
}
