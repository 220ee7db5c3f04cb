import Descriptors
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

    /// Writes every report into the run directory and to the paths the user
    /// asked for. One write failing does not stop the others: each failure
    /// comes back as a one-line message.
    func write(_ report: RunReport, junit extraJUnit: String?, json extraJSON: String?, html extraHTML: String?) -> [String] {
        try? events.close()
        let jsonText = JSONLinesWriter.render(report)
        let junitText = JUnitWriter.render(report)
        let htmlText = HTMLReportWriter.render(report)
        var failures: [String] = []
        let writes: [(String?, String)] = [(jsonLines.path, jsonText), (junit.path, junitText), (html.path, htmlText),
                                           (extraJUnit, junitText), (extraJSON, jsonText), (extraHTML, htmlText)]
        for case let (file?, text) in writes {
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
            } catch {
                failures.append("cannot write \(file): \(Self.reason(error))")
            }
        }
        return failures
    }

    /// Fails before anything runs when a report could not be written at the
    /// end: the directory must exist and be writable, the file must not be a
    /// directory or read-only.
    static func checkWritable(_ file: String, flag: String) throws {
        let url = URL(fileURLWithPath: file)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw UsageError("\(flag) \(file): the directory \(dir) does not exist")
        }
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDir) {
            if isDir.boolValue { throw UsageError("\(flag) \(file) is a directory; give a file name") }
        }
        // .atomic writes a temporary file beside it, then renames: a file must be creatable in
        // the directory. access(2) is not enough: it says yes to root for /sys, /proc or a
        // read-only mount, where the write at the end would fail after the whole suite ran.
        do {
            try probe(directory: dir)
        } catch {
            throw UsageError("\(flag) \(file): cannot create a file in \(dir) (\(String(cString: strerror(error.code))))")
        }
    }

    /// Creates and removes a uniquely named empty file in `directory`.
    static func probe(directory: String) throws(Errno) {
        let name = "\(directory)/.automation-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = try FileDescriptor.open(name, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        descriptor.closeQuietly()
        unlink(name)
    }

    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        return ns.localizedDescription
    }
}
