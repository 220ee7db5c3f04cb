import Foundation
import Testing
import TestSupport

/// Runs that meet faults on local targets, through the real controller and
/// agents: Ctrl-C in each phase, unreachable and stopped targets, report
/// paths that cannot be written, a broken slot.
@Suite("run-tests faults", .serialized)
struct RunTestsFaultTests {
    /// A suite of `count` tests in a directory of its own: each sleeps
    /// `$FAULT_SLEEP` seconds (default 0.3); with `FAULT_BROKEN_SLOT=N` every
    /// test on host slot N fails at once ("No space left on device").
    struct Suite {
        let dir: URL
        let count: Int

        init(in harness: RunTestsHarness, count: Int) throws {
            dir = harness.scratch.appendingPathComponent("suite")
            self.count = count
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let names = (0..<count).map { String(format: "t%02d", $0) }.joined(separator: "\n")
            try "#!/bin/sh\nprintf '%s\\n' '\(names.replacingOccurrences(of: "\n", with: "' '"))'\n"
                .write(to: dir.appendingPathComponent("list"), atomically: true, encoding: .utf8)
            try """
                #!/bin/sh
                if [ -n "${FAULT_BROKEN_SLOT:-}" ] && [ "$AUTOMATION_SLOT" = "$FAULT_BROKEN_SLOT" ]; then
                    echo "write: No space left on device" >&2; exit 1
                fi
                if [ -n "${FAULT_REMOVE:-}" ]; then rm -rf "$FAULT_REMOVE"; fi
                if [ -n "${FAULT_LOG:-}" ]; then
                    # Another copy of this test still running (not a zombie) is an overlap.
                    for p in $(sed -n "s/^start $1 \\([0-9]*\\) .*/\\1/p" "$FAULT_LOG"); do
                        grep -qs '^State:[[:space:]]*[RSD]' /proc/$p/status && echo "overlap $1 $p" >> "$FAULT_LOG"
                    done
                    echo "start $1 $$ $AUTOMATION_SLOT" >> "$FAULT_LOG"
                fi
                sleep "${FAULT_SLEEP:-0.3}"
                if [ -n "${FAULT_LOG:-}" ]; then echo "end $1 $$" >> "$FAULT_LOG"; fi
                """.write(to: dir.appendingPathComponent("test"), atomically: true, encoding: .utf8)
            for file in ["list", "test"] {
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.appendingPathComponent(file).path)
            }
        }

        var arguments: [String] {
            ["run-tests", "--runner", "command", "--project", "faults",
             "--list-command", dir.appendingPathComponent("list").path,
             "--test-command", dir.appendingPathComponent("test").path + " {test}"]
        }
    }

    static func runDirectory(_ stdout: String) -> String? {
        stdout.split(separator: "\n").first { $0.hasPrefix("reports: ") }?
            .dropFirst("reports: ".count).split(separator: " ").first.map(String.init)
    }

    /// Waits until `count` results were printed (or the run ended).
    static func waitForResults(_ running: RunTestsHarness.Running, _ count: Int) async throws {
        _ = await eventually(within: 300) { !running.process.isRunning || running.stdoutSoFar.components(separatedBy: "PASS ").count > count }
    }

    @Test("first Ctrl-C mid-run: finished results kept, the rest 'not run' (JUnit skipped), scratch removed, exit 130")
    func interruptMidRun() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let suite = try Suite(in: harness, count: 30)
        let junit = harness.scratch.appendingPathComponent("j.xml")
        // Tests long enough (30 × 2 s on 2 slots) that the run is still going when Ctrl-C comes, however loaded the machine.
        let running = try harness.start(suite.arguments + ["--target", "local:2", "--junit", junit.path], env: ["FAULT_SLEEP": "2"])
        let pid = running.process.processIdentifier
        let interrupted = await running.inject(when: { $0.components(separatedBy: "PASS ").count > 1 }) { kill(pid, SIGINT) }
        try #require(interrupted, "the run ended before the Ctrl-C: \(running.soFar)")
        let result = try await running.wait(hangGuard: 120)
        #expect(result.status == 130, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains(" 0 failed") && last.hasSuffix("not run"), "closing line: \(last)")
        let xml = try String(contentsOf: junit, encoding: .utf8)
        let counts = JUnitCounter.count(Data(xml.utf8))
        #expect(counts.testcases == 30)
        #expect(counts.failures == 0)
        #expect(!xml.contains("<error"))
        #expect(counts.skipped >= 1 && counts.skipped <= 30 - 1)
        #expect(xml.contains("not run: "))
        let runDir = try #require(Self.runDirectory(result.stdout))
        let runID = URL(fileURLWithPath: runDir).lastPathComponent
        #expect(!FileManager.default.fileExists(atPath: "/tmp/automation-run-\(runID)-t0"), "scratch directory left behind")
    }

    @Test("second Ctrl-C: no waiting for running tests, reports still written, exit 130")
    func interruptTwice() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let suite = try Suite(in: harness, count: 10)
        let running = try harness.start(suite.arguments + ["--target", "local:2"], env: ["FAULT_SLEEP": "30"])
        // Both slots are inside a 30 s test once the run's first line is out.
        _ = await eventually(within: 120) {
            !running.process.isRunning || ((try? String(contentsOf: running.stderrPath, encoding: .utf8)) ?? "").contains("running 10 tests")
        }
        try await Task.sleep(for: .milliseconds(500))
        kill(running.process.processIdentifier, SIGINT)
        try await Task.sleep(for: .milliseconds(100))
        kill(running.process.processIdentifier, SIGINT)
        let result = try await running.wait(hangGuard: 60)
        #expect(result.status == 130, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").last == "0 passed, 0 failed, 0 skipped, 10 not run")
        let runDir = try #require(Self.runDirectory(result.stdout))
        #expect(FileManager.default.fileExists(atPath: "\(runDir)/junit.xml"))
        // Not waiting means the sessions were abandoned: the scratch directory may stay; tidy it here.
        try? FileManager.default.removeItem(atPath: "/tmp/automation-run-\(URL(fileURLWithPath: runDir).lastPathComponent)-t0")
    }

    @Test("Ctrl-C while listing: exit 130 at once, nothing left running")
    func interruptWhileListing() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let list = harness.scratch.appendingPathComponent("slow-list")
        try "#!/bin/sh\nsleep 60\necho t1\n".write(to: list, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: list.path)
        let running = try harness.start(["run-tests", "--runner", "command", "--list-command", list.path, "--test-command", "true", "--target", "local"])
        try await Task.sleep(for: .seconds(2))
        kill(running.process.processIdentifier, SIGINT)
        let result = try await running.wait(hangGuard: 45)
        #expect(result.status == 130, "stderr: \(result.stderr)")
    }

    @Test("report paths are checked before any test runs")
    func outputPathsCheckedFirst() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let suite = try Suite(in: harness, count: 3)
        let missing = try await harness.run(suite.arguments + ["--target", "local", "--junit", "/nonexistent-\(UUID().uuidString)/j.xml"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("--junit") && missing.stderr.contains("does not exist"), "stderr: \(missing.stderr)")
        #expect(!missing.stdout.contains("PASS"))
        let directory = try await harness.run(suite.arguments + ["--target", "local", "--html", harness.scratch.path])
        #expect(directory.status == 64)
        #expect(directory.stderr.contains("is a directory"))
        #expect(!FileManager.default.fileExists(atPath: harness.state.appendingPathComponent("runs").path), "no run started")
    }

    @Test("a report that cannot be written at the end: the others, the run directory and durations are still written")
    func reportWriteFailsAtTheEnd() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let suite = try Suite(in: harness, count: 3)
        let doomed = harness.scratch.appendingPathComponent("doomed")
        try FileManager.default.createDirectory(at: doomed, withIntermediateDirectories: true)
        let json = harness.scratch.appendingPathComponent("r.jsonl")
        // The tests remove the --junit directory while they run.
        let result = try await harness.run(suite.arguments + ["--target", "local", "--junit", doomed.appendingPathComponent("j.xml").path,
                                                               "--json-report", json.path], env: ["FAULT_REMOVE": doomed.path])
        #expect(result.status == 255, "stderr: \(result.stderr)")
        let errors = result.stderr.split(separator: "\n").filter { $0.contains("cannot write \(doomed.path)/j.xml") }
        #expect(errors.count == 1, "stderr: \(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"))
        #expect(result.stdout.split(separator: "\n").last == "3 passed, 0 failed, 0 skipped")
        #expect(FileManager.default.fileExists(atPath: json.path))
        let runDir = try #require(Self.runDirectory(result.stdout))
        for file in ["junit.xml", "events.jsonl", "report.html"] { #expect(FileManager.default.fileExists(atPath: "\(runDir)/\(file)")) }
        #expect(FileManager.default.fileExists(atPath: harness.state.appendingPathComponent("durations/faults/command.json").path))
    }

    @Test("a target unreachable at the start is named, every test runs elsewhere, exit 3 unless --allow-lost-targets")
    func unreachableTarget() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let suite = try Suite(in: harness, count: 4)
        let dead = "ssh://nobody@127.0.0.1:1"
        let strict = try await harness.run(suite.arguments + ["--target", "local:2", "--target", dead])
        #expect(strict.status == 3, "stdout: \(strict.stdout)\nstderr: \(strict.stderr)")
        #expect(strict.stdout.contains("lost targets (1): \(dead)"))
        #expect(strict.stdout.split(separator: "\n").last == "4 passed, 0 failed, 0 skipped")
        let allowed = try await harness.run(suite.arguments + ["--target", "local:2", "--target", dead, "--allow-lost-targets"])
        #expect(allowed.status == 0, "stderr: \(allowed.stderr)")
    }

    @Test("a stopped agent (SIGSTOP) is declared lost within --lost-after; its tests run elsewhere, none lost or duplicated")
    func stoppedAgent() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let suite = try Suite(in: harness, count: 12)
        let json = harness.scratch.appendingPathComponent("r.jsonl")
        let running = try harness.start(suite.arguments + ["--target", "local:1", "--target", "local:1", "--lost-after", "3",
                                                           "--json-report", json.path], env: ["FAULT_SLEEP": "1"])
        let pid = running.process.processIdentifier
        let agents = Locked<[Int32]>([])
        let stopped = await running.inject(when: { $0.components(separatedBy: "PASS ").count > 1 }) {
            let found = ProcessTable.children(of: pid).filter { $0.name.hasPrefix("automation-age") }.map(\.pid)
            agents.set(found)
            if let victim = found.first { kill(victim, SIGSTOP) }
        }
        try #require(stopped, "the run ended before the fault: \(running.soFar)")
        #expect(agents.value.count == 2)
        let victim = try #require(agents.value.first)
        defer { kill(victim, SIGCONT) }  // it then sees its session closed and exits
        let result = try await running.wait(hangGuard: 120)
        #expect(result.status == 3, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.contains("no answer to a ping for 3 s"))
        #expect(result.stdout.split(separator: "\n").last == "12 passed, 0 failed, 0 skipped")
        let events = try RunTestsHarness.events(json)
        let passed = events.filter { $0["status"] as? String == "pass" }.compactMap { $0["test"] as? String }
        #expect(passed.sorted() == (0..<12).map { String(format: "t%02d", $0) }, "each test passed exactly once")
    }

    @Test("exec against an agent that stops is ended by the heartbeat (exit 255, a message), not left hanging")
    func execStoppedAgent() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let running = try harness.start(["exec", "--target", "local", "--", "sleep", "600"])
        var agents: [(pid: Int32, name: String)] = []
        let deadline = Date().addingTimeInterval(60)
        while agents.isEmpty && running.process.isRunning && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            agents = ProcessTable.children(of: running.process.processIdentifier).filter { $0.name.hasPrefix("automation-age") }
        }
        let agent = try #require(agents.first)
        // Let the exec start before the agent stops.
        var command: [Int32] = []
        while command.isEmpty && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            command = ProcessTable.children(of: agent.pid).map(\.pid)
        }
        kill(agent.pid, SIGSTOP)
        defer {
            kill(agent.pid, SIGCONT)
            // An agent whose controller died while it was stopped does not always end its children: end ours.
            for pid in command { kill(pid, SIGKILL) }
        }
        let result = try await running.wait(hangGuard: 180)
        #expect(result.status == 255, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("no answer to a ping for 30 s"))
    }

    @Test("a broken slot (tests fail at once) is quarantined; its tests re-run elsewhere and pass")
    func brokenSlotQuarantined() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let suite = try Suite(in: harness, count: 8)
        // A first run records how long the tests take (about 1.5 s).
        let first = try await harness.run(suite.arguments + ["--target", "local:2"], env: ["FAULT_SLEEP": "1.5"])
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let json = harness.scratch.appendingPathComponent("r.jsonl")
        let result = try await harness.run(suite.arguments + ["--target", "local:2", "--json-report", json.path],
                                           env: ["FAULT_SLEEP": "1.5", "FAULT_BROKEN_SLOT": "1"])
        #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.contains("quarantined slot localhost#1"))
        #expect(result.stdout.split(separator: "\n").last == "8 passed, 0 failed, 0 skipped")
        let events = try RunTestsHarness.events(json)
        #expect(events.contains { $0["status"] as? String == "fail" && $0["infrastructure"] as? Bool == true })
        #expect(!result.stdout.contains("flaky"))
    }
}

/// A value a watcher thread sets and the test reads afterwards.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func set(_ value: T) { lock.lock(); stored = value; lock.unlock() }
}
