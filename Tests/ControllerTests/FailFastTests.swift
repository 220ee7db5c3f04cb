@testable import AutomationKit
import Foundation
import Testing
import TestSupport

/// Errors that come at once and say what happened (issue 21, finding 8): the built
/// `automation` binary on the local target, nothing launched.
@Suite("run-tests and friends fail fast with the right message", .timeLimit(.minutes(10)))
struct FailFastTests {
    static let suiteArgs = ["--runner", "command", "--list-command", "x", "--test-command", "y"]

    @Test("every duration flag refuses a negative value as negative (exit 64), never 'Missing value'",
          arguments: [
              ["exec", "--timeout", "-1", "--", "true"],
              ["run-tests"] + suiteArgs + ["--timeout", "-1"],
              ["run-tests"] + suiteArgs + ["--lost-after", "-1"],
              ["run-tests"] + suiteArgs + ["--ssh-timeout", "-1"],
              ["run-tests"] + suiteArgs + ["--agent-idle-timeout", "-1"],
              ["run-tests"] + suiteArgs + ["--instance-ttl", "-1"],
              ["run-tests"] + suiteArgs + ["--instance-idle-timeout", "-5m"],
              ["run-tests"] + suiteArgs + ["--boot-timeout", "-1"],
              ["run-tests"] + suiteArgs + ["--wait-timeout", "-1"],
              ["run-tests-linux", "--timeout", "-1"],
              ["aws", "launch", "--ttl", "-1"],
              ["bootstrap-linux-dev", "--distros", "debian12", "--builder-ttl", "-2h"],
          ])
    func negativeDurations(arguments: [String]) async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let flag = arguments[arguments.lastIndex { $0.hasPrefix("--") && $0 != "--" }!]
        let outcome = try await harness.run(arguments)
        #expect(outcome.status == 64, "\(arguments): \(outcome.stderr)")
        #expect(outcome.stderr.contains("\(flag) must not be negative"), "\(arguments): \(outcome.stderr)")
        #expect(!outcome.stderr.contains("Missing value"), "\(arguments): \(outcome.stderr)")
    }

    @Test("--junit into a directory no file can be created in (/sys, even as root) is refused before any test runs; the probe leaves nothing")
    func unwritableReportDirectory() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let outcome = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "local:2", "--junit", "/sys/automation-report.xml"])
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("--junit /sys/automation-report.xml: cannot create a file in /sys"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("running "), "no test may run: \(outcome.stderr)")
        #expect(outcome.stdout.isEmpty, "\(outcome.stdout)")

        // A writable directory gets its report and nothing else (the probe file is gone).
        let reports = harness.scratch.appendingPathComponent("reports")
        try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
        let fine = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "local:2", "--json-report", reports.path + "/run.jsonl"])
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: reports.path) == ["run.jsonl"])
    }

    @Test("a --list-command that cannot start is a usage error (64), as documented, naming the command")
    func listCommandCannotStart() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let outcome = try await harness.run(["run-tests", "--target", "local:2", "--runner", "command",
                                             "--list-command", "/no/such/lister", "--test-command", "examples/sample-suite/run-test {test}"])
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("--list-command cannot start"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("/no/such/lister"), "\(outcome.stderr)")
    }

    @Test("a --test-command that cannot start is one setup error (exit 5): no ERROR per test, no durations recorded; real failures stay 1")
    func testCommandCannotStart() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let outcome = try await harness.run(["run-tests", "--target", "local:2", "--runner", "command", "--project", "failfast",
                                             "--list-command", "examples/sample-suite/list-tests", "--test-command", "/no/such/runner {test}"])
        #expect(outcome.status == ExitCodes.setupFailed && outcome.status == 5, "\(outcome.stderr)")
        #expect(outcome.stderr.components(separatedBy: "automation: error: setup error: ").count == 2, "one setup error: \(outcome.stderr)")
        #expect(outcome.stderr.contains("--test-command cannot start"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("/no/such/runner"), "\(outcome.stderr)")
        #expect(!outcome.stdout.contains("ERROR"), "no test is an error of its own: \(outcome.stdout)")
        #expect(outcome.stdout.contains("0 passed, 0 failed, 0 skipped, \(try RunTestsHarness.sampleTests().count) not run"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("setup error: the test command cannot start"), "\(outcome.stdout)")
        // Nothing ran, so nothing was timed.
        let durations = harness.state.appendingPathComponent("durations/failfast/command.json")
        let recorded = try JSONSerialization.jsonObject(with: Data(contentsOf: durations)) as? [String: Any]
        let tests = (recorded?["tests"] as? [String: Any])?["tests"] as? [String: Any]
        #expect(tests?.isEmpty == true, "\(String(describing: recorded))")

        let real = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "local:2"], env: ["SAMPLE_FAIL": "1"])
        #expect(real.status == 1, "\(real.stderr)")
        #expect(real.stdout.contains("1 failed"), "\(real.stdout)")
    }

    @Test("--dry-run plans without an agent executable, on local and aws:N targets (it runs and launches nothing)",
          arguments: ["local:4", "aws:2:t3.micro"])
    func dryRunWithoutAgent(target: String) async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let outcome = try await harness.run(RunTestsHarness.sampleSuite + ["--target", target, "--dry-run", "--agent-binary", "/no/such/agent"],
                                            env: ["AUTOMATION_AGENT_BINARY": "/no/such/agent"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("plan: \(try RunTestsHarness.sampleTests().count) tests"), "\(outcome.stdout)")
        #expect(!outcome.stderr.contains("automation-agent"), "\(outcome.stderr)")
    }

    @Test("an arm64 (Graviton) instance type is refused before anything is planned or launched, saying why",
          arguments: [["--target", "aws:2:c7g.large"], ["--target", "aws:1", "--instance-type", "t4g.micro"],
                      ["--target", "aws:1:c6i.large", "--spot", "--spot-types", "c6i.large,m6g.large"]])
    func arm64Refused(arguments: [String]) async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let outcome = try await harness.run(RunTestsHarness.sampleSuite + arguments + ["--dry-run"])
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("is an arm64 (AWS Graviton) instance type"), "\(outcome.stderr)")
        #expect(!outcome.stdout.contains("plan:"), "\(outcome.stdout)")
    }

    @Test("arm64 families: a g after the generation digit, a1 and mac2; x86_64 ones never")
    func arm64Families() {
        for type in ["a1.large", "c6g.large", "c6gd.xlarge", "c6gn.large", "c7g.large", "c7gn.2xlarge", "c8g.large", "m6g.large",
                     "m7g.xlarge", "r6g.large", "r7g.large", "r8g.large", "t4g.micro", "x2gd.large", "im4gn.large", "is4gen.large",
                     "hpc7g.4xlarge", "g5g.xlarge", "i4g.large", "mac2.metal"] {
            #expect(InstanceTypes.isArm64(type), "\(type)")
        }
        for type in ["c5.9xlarge", "c6i.large", "c7i.large", "c7i-flex.large", "m7a.large", "t3.micro", "t3a.small", "g4dn.xlarge",
                     "g6e.xlarge", "x2iedn.xlarge", "inf2.xlarge", "p4de.24xlarge", "r7iz.large", "mac1.metal", "u-6tb1.metal", "z1d.large"] {
            #expect(!InstanceTypes.isArm64(type), "\(type)")
        }
    }

    /// The dynamically linked agent `swift build` makes, beside the `automation` the tests run.
    static func dynamicAgent() throws -> String {
        let path = URL(fileURLWithPath: try BuiltProducts.automation()).deletingLastPathComponent()
            .appendingPathComponent("automation-agent").path
        let info = try #require(try AgentBinary.elfInfo(atPath: path))
        try #require(info.interpreter != nil, "\(path) is expected to be the dynamically linked swift build agent")
        return path
    }

    @Test("a dynamically linked agent is refused for ssh:// targets before any connection, pointing at deploy/build-agent.sh")
    func dynamicAgentRefused() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let agent = try Self.dynamicAgent()
        // Port 1 refuses connections: a controller that tried to connect would say so instead.
        let run = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "ssh://nobody@127.0.0.1:1", "--agent-binary", agent])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("\(agent) is dynamically linked"), "\(run.stderr)")
        #expect(run.stderr.contains("deploy/build-agent.sh"), "\(run.stderr)")
        #expect(!run.stderr.contains("refused"), "\(run.stderr)")
        let exec = try await harness.run(["exec", "--target", "ssh://nobody@127.0.0.1:1", "--agent-binary", agent, "--", "true"])
        #expect(exec.status == 64 && exec.stderr.contains("is dynamically linked"), "\(exec.stderr)")
    }
}
