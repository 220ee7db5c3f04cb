import Foundation
import Testing
import TestSupport

/// The pytest and mercurial runners on real suites, through the real controller and agent.
@Suite("run-tests runners", .serialized)
struct RunTestsAdapterTests {
    static var hasPytest: Bool {
        RunTestsHarness.which("python3").map { RunTestsHarness.shell([$0, "-c", "import pytest"]).status == 0 } ?? false
    }

    @Test("pytest: collection, streamed per-test results, failure text and skip reason",
          .requires(Requirement("python3 with pytest is not installed (pip install pytest)") { hasPytest }))
    func pytestSuite() async throws {
        let python = try RunTestsAdapterTests.require("python3", why: "the pytest runner test needs python3 with pytest")
        try #require(RunTestsHarness.shell([python, "-c", "import pytest"]).status == 0, "pytest is not installed for \(python) (pip install pytest)")
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let json = harness.scratch.appendingPathComponent("r.jsonl")
        let result = try await harness.run([
            "run-tests", "--runner", "pytest", "--target", "local:2", "--workdir", "examples/pytest-suite",
            "--env", "SAMPLE_FAIL=1", "--json-report", json.path, "--", "tests",
        ])
        #expect(result.status == 1, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").last == "15 passed, 1 failed, 1 skipped")
        let events = try RunTestsHarness.events(json)
        #expect(events.count == 17)
        let failure = try #require(events.first { $0["status"] as? String == "fail" })
        #expect(failure["test"] as? String == "tests/test_storage.py::test_deliberate_failure")
        #expect((failure["detail"] as? String)?.contains("total: 41") == true)
        let skip = try #require(events.first { $0["status"] as? String == "skip" })
        #expect((skip["message"] as? String)?.contains("SAMPLE_FEATURE not enabled") == true)
        #expect(events.contains { $0["test"] as? String == "tests/test_storage.py::test_chunking[1000]" })
    }

    @Test("mercurial: run-tests.py on a real Mercurial source tree, as an unprivileged user",
          .requires(Requirement("needs python3, uv, make, runuser and no cvs") { MercurialFixture.missingTools.isEmpty }))
    func mercurialSuite() async throws {
        let source = try MercurialFixture.prepare()
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let json = harness.scratch.appendingPathComponent("r.jsonl")
        var arguments = ["run-tests", "--runner", "mercurial", "--target", "local:2", "--workdir", source.path,
                         "--python", MercurialFixture.python, "--json-report", json.path]
        if getuid() == 0 { arguments += ["--run-as", MercurialFixture.testUser] }
        arguments += ["--"] + MercurialFixture.selection
        let result = try await harness.run(arguments)
        #expect(result.status == 1, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        let events = try RunTestsHarness.events(json)
        var status: [String: String] = [:]
        for event in events { status[event["test"] as! String] = event["status"] as? String }
        #expect(status["test-automation-sample-failure.t"] == "fail")
        #expect(status["test-convert-cvs.t"] == "skip")
        #expect(status["test-permissions.t#dirstate-v1"] == "pass")
        #expect(status["test-permissions.t#dirstate-v2"] == "pass")
        for name in ["test-empty.t", "test-bad-pull.t", "test-abort-checkin.t"] { #expect(status[name] == "pass", "\(name)") }
        let failure = try #require(events.first { $0["test"] as? String == "test-automation-sample-failure.t" })
        #expect((failure["message"] as? String) == "output changed")
        #expect((failure["detail"] as? String)?.contains("+  hello") == true)
        #expect(result.stdout.split(separator: "\n").last == "5 passed, 1 failed, 1 skipped")
        // Every result arrived with run-tests.py's own timing.
        #expect(events.allSatisfy { ($0["duration"] as? Double ?? 0) > 0 || $0["status"] as? String == "skip" })
    }

    static func require(_ tool: String, why: String) throws -> String {
        if let path = RunTestsHarness.which(tool) { return path }
        throw HarnessError("\(tool) not found on PATH: \(why)")
    }
}

/// A real Mercurial source tree from the PyPI sdist, built once per machine
/// (`make local`, by the runner itself on first use) and kept in a cache.
enum MercurialFixture {
    static let version = "7.2.4"
    /// The interpreter both root (to build) and the test user (to run) can reach.
    static let python = "/usr/bin/python3"
    static let testUser = "automation-test"
    static let cache = URL(fileURLWithPath: ProcessInfo.processInfo.environment["AUTOMATION_TEST_CACHE"] ?? "/var/tmp/automation-test-cache")
    /// Quick tests, a two-variant one, one that skips (no cvs) and one that fails on purpose.
    static let selection = ["test-abort-checkin.t", "test-bad-pull.t", "test-empty.t", "test-permissions.t",
                            "test-convert-cvs.t", "test-automation-sample-failure.t"]

    /// What the machine lacks for this test (empty when it can run).
    static var missingTools: [String] {
        var missing: [String] = []
        if !FileManager.default.isExecutableFile(atPath: python) { missing.append("\(python) (apt-get install python3 python3-dev python3-venv)") }
        if RunTestsHarness.which("uv") == nil { missing.append("uv (pip install uv)") }
        if RunTestsHarness.which("make") == nil { missing.append("make") }
        if getuid() == 0 && RunTestsHarness.which("runuser") == nil { missing.append("runuser (util-linux)") }
        if RunTestsHarness.which("cvs") != nil { missing.append("no cvs (test-convert-cvs.t must skip)") }
        return missing
    }

    /// The source tree; throws (failing the test) when the tooling is missing.
    static func prepare() throws -> URL {
        let missing = missingTools
        guard missing.isEmpty else { throw HarnessError("mercurial runner test needs: \(missing.joined(separator: ", "))") }
        if getuid() == 0 {
            if RunTestsHarness.shell(["id", testUser]).status != 0 {
                let made = RunTestsHarness.shell(["useradd", "--system", "--create-home", "--shell", "/bin/sh", testUser])
                guard made.status == 0 else { throw HarnessError("cannot create \(testUser): \(made.output)") }
            }
        }
        let fm = FileManager.default
        try fm.createDirectory(at: cache, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let tarball = cache.appendingPathComponent("mercurial-\(version).tar.gz")
        if !fm.fileExists(atPath: tarball.path) {
            let pip = RunTestsHarness.shell(["python3", "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                                             "mercurial==\(version)", "-d", cache.path])
            guard pip.status == 0 else { throw HarnessError("pip download mercurial failed: \(pip.output)") }
        }
        let source = cache.appendingPathComponent("mercurial-\(version)")
        if !fm.fileExists(atPath: source.appendingPathComponent("tests/run-tests.py").path) {
            let untar = RunTestsHarness.shell(["tar", "xzf", tarball.path, "-C", cache.path])
            guard untar.status == 0 else { throw HarnessError("cannot unpack \(tarball.path): \(untar.output)") }
        }
        let failing = """
            A test that fails on purpose, to check that diffs come back.

              $ echo hello
              goodbye

            """
        try Data(failing.utf8).write(to: source.appendingPathComponent("tests/test-automation-sample-failure.t"))
        return source
    }
}
