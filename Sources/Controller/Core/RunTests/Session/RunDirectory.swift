import Foundation
import Scheduling

/// `<state>/runs/<project>/<run id>/`: the events log written live, and the
/// JUnit, HTML and JSON-lines reports written at the end.
struct RunDirectory {
    let path: URL
    let runID: String
    let events: FileHandle

    init(stateRoot: String, project: String, now: Date = Date()) throws {
        let stamp = now.formatted(.iso8601.year().month().day().dateSeparator(.omitted).time(includingFractionalSeconds: false).timeSeparator(.omitted).dateTimeSeparator(.standard))
        runID = stamp.replacingOccurrences(of: "T", with: "-").replacingOccurrences(of: "Z", with: "") + "-" + String(UInt32.random(in: 0...0xFFFF), radix: 16)
        path = URL(fileURLWithPath: stateRoot).appendingPathComponent("runs").appendingPathComponent(project).appendingPathComponent(runID)
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        let eventsPath = path.appendingPathComponent("events.jsonl")
        FileManager.default.createFile(atPath: eventsPath.path, contents: nil)
        events = try FileHandle(forWritingTo: eventsPath)
    }

    var junit: URL { path.appendingPathComponent("junit.xml") }
    var html: URL { path.appendingPathComponent("report.html") }
    var jsonLines: URL { path.appendingPathComponent("events.jsonl") }

    /// Writes every report into the run directory and to the paths the user asked for.
    func write(_ report: RunReport, junit extraJUnit: String?, json extraJSON: String?, html extraHTML: String?) throws {
        try? events.close()
        let jsonText = JSONLinesWriter.render(report)
        let junitText = JUnitWriter.render(report)
        let htmlText = HTMLReportWriter.render(report)
        try Data(jsonText.utf8).write(to: jsonLines, options: .atomic)
        try Data(junitText.utf8).write(to: junit, options: .atomic)
        try Data(htmlText.utf8).write(to: html, options: .atomic)
        for (file, text) in [(extraJUnit, junitText), (extraJSON, jsonText), (extraHTML, htmlText)] {
            guard let file else { continue }
            try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        }
    }
}
