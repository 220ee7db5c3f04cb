@testable import AutomationKit
import Foundation
import Synchronization
import Testing

/// The per-host progress of the phase before the tests (the runner's build).
@Suite("progress printer: per-host build progress")
struct ProgressPrinterTests {
    /// What a printer wrote, by descriptor.
    final class Capture: Sendable {
        private let written = Mutex<[(Int32, String)]>([])
        func write(_ fd: Int32, _ bytes: [UInt8]) { written.withLock { $0.append((fd, String(decoding: bytes, as: UTF8.self))) } }
        var writes: [(Int32, String)] { written.withLock { $0 } }
        func text(_ fd: Int32) -> String { writes.filter { $0.0 == fd }.map(\.1).joined() }
    }

    static let clear = "\r\u{1B}[K"

    @Test("on a terminal: one line, redrawn in place with each host's state and elapsed seconds, gone at the end")
    func liveLine() {
        let capture = Capture()
        let printer = ProgressPrinter(live: true, output: capture.write, columns: { 200 })
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        printer.hostStarted("ssh://hg@10.0.0.1", "building", at: t0)
        printer.hostStarted("ssh://hg@10.0.0.2", "building", at: t0)
        printer.tickHosts(at: t0.addingTimeInterval(12.4))
        printer.hostFinished("ssh://hg@10.0.0.1", at: t0.addingTimeInterval(31.9))
        printer.tickHosts(at: t0.addingTimeInterval(40))
        printer.endHosts()
        let writes = capture.writes
        #expect(writes.allSatisfy { $0.0 == 2 }, "progress goes to stderr only")
        #expect(writes.map(\.1) == [
            "ssh://hg@10.0.0.1: building (0 s)",
            Self.clear + "ssh://hg@10.0.0.1: building (0 s) · ssh://hg@10.0.0.2: building (0 s)",
            Self.clear + "ssh://hg@10.0.0.1: building (12 s) · ssh://hg@10.0.0.2: building (12 s)",
            // Hosts still at work first.
            Self.clear + "ssh://hg@10.0.0.2: building (31 s) · ssh://hg@10.0.0.1: building done (31 s)",
            Self.clear + "ssh://hg@10.0.0.2: building (40 s) · ssh://hg@10.0.0.1: building done (31 s)",
            Self.clear,
        ])
        #expect(!capture.text(2).contains("\n"), "nothing scrolls: the line is redrawn in place")
    }

    @Test("on a terminal: a line wider than the terminal is cut, so that it can still be redrawn in place")
    func cutToWidth() {
        let capture = Capture()
        let printer = ProgressPrinter(live: true, output: capture.write, columns: { 40 })
        let t0 = Date()
        for i in 1...8 { printer.hostStarted("ssh://hg@10.0.0.\(i)", "building", at: t0) }
        let last = capture.writes.last?.1 ?? ""
        let line = last.hasPrefix(Self.clear) ? String(last.dropFirst(Self.clear.count)) : last
        #expect(line.count <= 39 && line.hasSuffix("…"), "\(line)")
    }

    @Test("a note during the phase is printed above the line, which comes back")
    func noteKeepsLine() {
        let capture = Capture()
        let printer = ProgressPrinter(live: true, output: capture.write, columns: { 200 })
        let t0 = Date()
        printer.hostStarted("local:2", "building", at: t0)
        printer.note("target x lost")
        let last = capture.writes.last?.1 ?? ""
        #expect(last.hasPrefix(Self.clear + "automation: target x lost\nlocal:2: building ("), "\(last)")
    }

    @Test("not a terminal: a plain line per host when it starts and when it ends, nothing on a timer")
    func plainLines() {
        let capture = Capture()
        let printer = ProgressPrinter(live: false, output: capture.write, columns: { 80 })
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        printer.hostStarted("ssh://hg@10.0.0.1", "building", at: t0)
        printer.hostStarted("ssh://hg@10.0.0.2", "building", at: t0)
        printer.tickHosts(at: t0.addingTimeInterval(5))
        printer.hostFinished("ssh://hg@10.0.0.2", failed: true, at: t0.addingTimeInterval(3.31))
        printer.hostFinished("ssh://hg@10.0.0.1", at: t0.addingTimeInterval(31.94))
        printer.endHosts()
        #expect(capture.text(2) == """
            automation: ssh://hg@10.0.0.1: building
            automation: ssh://hg@10.0.0.2: building
            automation: ssh://hg@10.0.0.2: building failed after 3.3 s
            automation: ssh://hg@10.0.0.1: building done in 31.9 s

            """)
        #expect(capture.text(1).isEmpty)
    }

    /// A Mercurial-shaped tree whose hg is already built (so `prepare` only byte-compiles) and
    /// whose run-tests.py lists two tests and reports them passed, in the runner's result format.
    static func fakeMercurial(in dir: URL) throws {
        for sub in [".local-venv/bin", "tests"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try Data("#!/bin/sh\n".utf8).write(to: dir.appendingPathComponent(".local-venv/bin/hg"))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent(".local-venv/bin/python").path, withDestinationPath: "/usr/bin/python3")
        try Data("""
            import json, sys, time
            args = sys.argv[1:]
            if "--list-tests" in args:
                print("test-a.t")
                print("test-b.t")
                sys.exit(0)
            for name in [a for a in args if a.startswith("test-")]:
                now = time.time()
                record = {"test": name, "status": "pass", "duration": 0.01, "start": now, "end": now, "message": None, "detail": None}
                sys.stdout.write("\\n@@automation-result@@ " + json.dumps(record) + "\\n")
                sys.stdout.flush()

            """.utf8).write(to: dir.appendingPathComponent("tests/run-tests.py"))
    }

    @Test("through a run, not on a terminal: each host's build has a start line and an end line on stderr, before the first test")
    func buildLinesInRun() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let tree = harness.scratch.appendingPathComponent("hg")
        try Self.fakeMercurial(in: tree)
        let outcome = try await harness.run(["run-tests", "--runner", "mercurial", "--target", "local:2", "--workdir", tree.path,
                                             "--python", "/usr/bin/python3"])
        let context = "status \(outcome.status)\nstdout:\n\(outcome.stdout)\nstderr:\n\(outcome.stderr)"
        #expect(outcome.status == 0, "\(context)")
        let lines = outcome.stderr.split(separator: "\n").map(String.init)
        let start = lines.firstIndex(of: "automation: local:2: building")
        let end = lines.firstIndex { $0.hasPrefix("automation: local:2: building done in ") && $0.hasSuffix(" s") }
        let running = lines.firstIndex { $0.hasPrefix("automation: running 2 tests") }
        #expect(start != nil && end != nil && running != nil, "\(context)")
        if let start, let end, let running { #expect(start < end && end < running, "\(context)") }
        #expect(lines.filter { $0.contains("local:2: building") }.count == 2, "one line at the start, one at the end: \(context)")
        #expect(!outcome.stderr.contains("\u{1B}["), "no terminal control codes when stderr is not a terminal: \(context)")
    }
}
