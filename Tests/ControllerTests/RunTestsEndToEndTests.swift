import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// The sample suite through the real controller and agent on local slots.
@Suite("run-tests end to end", .serialized)
struct RunTestsEndToEndTests {
    @Test("reports match what ran: JUnit, JSON lines and HTML; failure exits 1; fail-then-pass is flaky")
    func reportsMatchTheRun() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let flakyDir = harness.scratch.appendingPathComponent("flaky")
        try FileManager.default.createDirectory(at: flakyDir, withIntermediateDirectories: true)
        let junit = harness.scratch.appendingPathComponent("r.xml")
        let json = harness.scratch.appendingPathComponent("r.jsonl")
        let html = harness.scratch.appendingPathComponent("r.html")
        let result = try await harness.run(RunTestsHarness.sampleSuite + [
            "--target", "local:4", "--retry-failed", "1",
            "--env", "SAMPLE_FAIL=1", "--env", "SAMPLE_FLAKY_DIR=\(flakyDir.path)",
            "--junit", junit.path, "--json-report", json.path, "--html", html.path,
        ])
        #expect(result.status == 1, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.last == "27 passed, 1 failed, 1 skipped")
        #expect(lines.contains { $0.hasPrefix("1 flaky") && $0.contains("flaky-network") })
        #expect(lines.contains { $0.hasPrefix("makespan ") && $0.contains(", lower bound ") })
        #expect(lines.contains { $0.hasPrefix("reports: \(harness.state.path)/runs/") })
        // Failures are shown as they happen, with their diff.
        #expect(result.stdout.contains("+total: 41"))

        let expected = try RunTestsHarness.sampleTests()
        let events = try RunTestsHarness.events(json)
        #expect(Set(events.compactMap { $0["test"] as? String }) == Set(expected))
        for event in events {
            for key in ["slot", "host", "start", "end", "status", "attempt"] { #expect(event[key] != nil, "\(key) missing in \(event)") }
            #expect(event["host"] as? String == "localhost")
        }
        func attempts(_ name: String) -> [[String: Any]] { events.filter { $0["test"] as? String == name } }
        #expect(attempts("flaky-network").map { $0["status"] as? String } == ["fail", "pass"])
        #expect(Set(attempts("flaky-network").compactMap { $0["slot"] as? String }).count == 2, "retry on another slot")
        #expect(attempts("deliberate-failure").map { $0["status"] as? String } == ["fail", "fail"])
        #expect(attempts("optional-feature").map { $0["status"] as? String } == ["skip"])
        #expect(events.count == expected.count + 2)

        let xml = try String(contentsOf: junit, encoding: .utf8)
        let junitCounts = JUnitCounter.count(Data(xml.utf8))
        #expect(junitCounts.wellFormed)
        #expect(junitCounts.testcases == expected.count)
        #expect(junitCounts.failures == 1)
        #expect(junitCounts.skipped == 1)
        #expect(junitCounts.flaky == 1)
        #expect(xml.contains(#"tests="30" failures="1" errors="0" skipped="1""#))

        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.components(separatedBy: "class=\"test ").count - 1 == events.count)
        for slot in 0..<4 { #expect(page.contains("localhost#\(slot)")) }
        #expect(page.contains("+total: 41"))

        // The same three reports are in the run directory.
        let runDir = try #require(lines.first { $0.hasPrefix("reports: ") }).dropFirst("reports: ".count).split(separator: " ").first.map(String.init)
        for file in ["junit.xml", "events.jsonl", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: "\(runDir ?? "")/\(file)"))
        }
    }

    @Test("a green run exits 0, records durations, and --dry-run then plans from them")
    func durationsFeedThePlan() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let green = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "local:3"])
        #expect(green.status == 0, "stderr: \(green.stderr)")
        #expect(green.stdout.split(separator: "\n").last == "29 passed, 0 failed, 1 skipped")
        let durations = harness.state.appendingPathComponent("durations")
        let files = FileManager.default.enumerator(atPath: durations.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".json") } ?? []
        #expect(files.count == 1)
        let plan = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "local:3", "--dry-run"])
        #expect(plan.status == 0)
        #expect(plan.stdout.contains("30 recorded, 0 estimated"))
        #expect(plan.stdout.contains("slots: localhost#0 localhost#1 localhost#2"))
        #expect(plan.stdout.contains("predicted makespan"))
        #expect(plan.stdout.contains("lower bound"))
        // A dry run runs nothing.
        #expect(!plan.stdout.contains("PASS"))
    }

    @Test("a slot killed mid-run loses no result: its tests go back in the queue; the run exits 3 (target lost)")
    func slotKilledMidRun() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let json = harness.scratch.appendingPathComponent("r.jsonl")
        let running = try harness.start(RunTestsHarness.sampleSuite + ["--target", "local:2", "--target", "local:2", "--json-report", json.path])
        // Wait until results flow, then kill one of the two agents (both are children of this run).
        while running.process.isRunning && running.stdoutSoFar.components(separatedBy: "PASS").count < 4 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let agents = ProcessTable.children(of: running.process.processIdentifier).filter { $0.name.hasPrefix("automation-age") }
        #expect(agents.count == 2)
        if let victim = agents.first { kill(victim.pid, SIGKILL) }
        let result = try await running.wait()
        // Every test passed, but on fewer machines than asked: the distinct lost-targets code.
        #expect(result.status == 3, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.contains("lost slot"))
        #expect(result.stdout.contains("lost targets (1): local:2"))
        #expect(result.stdout.split(separator: "\n").last == "29 passed, 0 failed, 1 skipped")
        let events = try RunTestsHarness.events(json)
        #expect(Set(events.compactMap { $0["test"] as? String }) == Set(try RunTestsHarness.sampleTests()))
        #expect(!events.contains { $0["infrastructure"] as? Bool == true })
    }

    @Test("exit codes: 64 for a usage error, 255 when no target can be reached")
    func exitCodes() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let usage = try await harness.run(["run-tests", "--runner", "command", "--target", "local"])
        #expect(usage.status == 64)
        let unreachable = try await harness.run(RunTestsHarness.sampleSuite + ["--agent-binary", "/bin/false"])
        #expect(unreachable.status == 255, "stderr: \(unreachable.stderr)")
        let empty = try await harness.run(["run-tests", "--runner", "command", "--list-command", "true", "--test-command", "true"])
        #expect(empty.status == 64)
        #expect(empty.stderr.contains("listed no tests"))
    }
}

/// Counts JUnit elements with Foundation's XML parser (which also proves the document well-formed).
final class JUnitCounter: NSObject, XMLParserDelegate {
    var testcases = 0, failures = 0, skipped = 0, flaky = 0
    var wellFormed = true

    static func count(_ data: Data) -> JUnitCounter {
        let counter = JUnitCounter()
        let parser = XMLParser(data: data)
        parser.delegate = counter
        counter.wellFormed = parser.parse()
        return counter
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        switch name {
        case "testcase": testcases += 1
        case "failure": failures += 1
        case "skipped": skipped += 1
        case "flakyFailure": flaky += 1
        default: break
        }
    }
}

/// Reads /proc to find a process's children.
enum ProcessTable {
    static func children(of parent: Int32) -> [(pid: Int32, name: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> (Int32, String)? in
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
            let name = String(stat[stat.index(after: open)..<close])
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 1, Int32(fields[1]) == parent else { return nil }
            return (pid, name)
        }.sorted { $0.0 < $1.0 }
    }
}
