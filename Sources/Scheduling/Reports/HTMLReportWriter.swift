import Foundation

/// Writes a self-contained HTML page (no scripts, no external resources):
/// the counts, a per-slot SVG timeline of who ran what when, the failures
/// with their diffs, and the slowest tests.
public enum HTMLReportWriter {
    /// The page.
    public static func render(_ report: RunReport, slowest: Int = 15) -> String {
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>\(e(report.project)) — \(e(report.runner)) run \(e(report.runID))</title>
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
        h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
        .counts span{display:inline-block;margin-right:1.2em;font-weight:600}
        .pass{color:#1a7f37}.fail{color:#cf222e}.skip{color:#6e7781}.flaky{color:#bc4c00}
        table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}
        td.num{text-align:right;font-variant-numeric:tabular-nums}
        pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:30em}
        svg text{font:11px system-ui,sans-serif}
        </style></head><body>
        <h1>\(e(report.project)) · \(e(report.runner)) · run \(e(report.runID))</h1>
        <p>Started \(e(Timestamp.iso(report.started))), \(report.slots.count) slots, \
        makespan \(fmt(report.makespan))s, lower bound \(fmt(report.lowerBound))s.</p>
        <p class="counts" id="counts"><span class="pass">\(report.passed) passed</span>\
        <span class="fail">\(report.failed) failed</span><span class="skip">\(report.skipped) skipped</span>\
        <span class="flaky">\(report.flaky) flaky</span><span class="skip">\(report.notRun) not run</span></p>
        \(notices(report))

        """
        html += "<h2>Timeline</h2>\n" + TimelineSVG.render(report) + "\n"
        html += failures(report)
        html += slowestTable(report, count: slowest)
        html += "</body></html>\n"
        return html
    }

    /// Lost targets and quarantined slots, which a reader must not miss.
    private static func notices(_ report: RunReport) -> String {
        var html = ""
        if report.interrupted { html += "<p class=\"fail\" id=\"interrupted\">Interrupted: \(report.notRun) tests did not run.</p>\n" }
        for target in report.lostTargets { html += "<p class=\"fail lost\">Lost target: \(e(target))</p>\n" }
        for slot in report.quarantined { html += "<p class=\"fail quarantined\">Quarantined: \(e(slot))</p>\n" }
        return html
    }

    private static func failures(_ report: RunReport) -> String {
        let shown = report.outcomes.filter { $0.verdict.isFailure || $0.verdict == .flaky }
        var html = "<h2 id=\"failures\">Failures (\(report.failed)) and flaky tests (\(report.flaky))</h2>\n"
        if shown.isEmpty { return html + "<p>None.</p>\n" }
        for outcome in shown {
            let failure = outcome.lastFailure
            let css = outcome.verdict == .flaky ? "flaky" : "fail"
            html += "<details class=\"failure\" open><summary><span class=\"\(css)\">\(e(outcome.verdict.rawValue.uppercased()))</span> "
            html += "<code>\(e(outcome.name))</code> — \(e(failure?.message ?? "")) "
            html += "(slot \(e(failure?.slot.description ?? "?")), attempt \(failure?.attempt ?? 0) of \(outcome.attempts.count))</summary>\n"
            html += "<pre>\(e(failure?.detail ?? "(no output)"))</pre></details>\n"
        }
        return html
    }

    private static func slowestTable(_ report: RunReport, count: Int) -> String {
        var html = "<h2>Slowest tests</h2>\n<table id=\"slowest\"><tr><th>seconds</th><th>test</th><th>slot</th><th>status</th></tr>\n"
        for attempt in report.slowest(count) {
            html += "<tr><td class=\"num\">\(fmt(attempt.duration))</td><td><code>\(e(attempt.name))</code></td>"
            html += "<td>\(e(attempt.slot.description))</td><td>\(e(attempt.status.rawValue))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    static func e(_ text: String) -> String { XMLText.escape(text) }
    static func fmt(_ seconds: Double) -> String { String(format: "%.2f", seconds) }
}
