import Foundation
import Testing
import TestSupport

/// `run-tests --target aws:N` on the simulated cloud (deploy/testcloud): launch, connect,
/// run, and terminate on every way out; after each test nothing of the run is left.
@Suite("run-tests on aws:N targets (simulated cloud)", .serialized, .timeLimit(.minutes(15)),
       .requires(TestCloudFixture.requirement))
struct CloudRunTests {
    static let tests = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]

    /// Without a workdir the run syncs this repository to the instances.
    static func suite(test: String = "echo {test} on $(hostname)", workdir: String? = "/tmp") -> [String] {
        ["run-tests", "--runner", "command"] + (workdir.map { ["--workdir", $0] } ?? [])
            + ["--list-command", "printf '\(tests.joined(separator: "\\n"))\\n'", "--test-command", "sh -c '\(test)' {test}"]
    }

    /// What the account and the cloud hold after a run: nothing live of this namespace.
    func expectNothingLeft(_ cloud: TestCloudFixture, _ harness: RunTestsHarness, _ context: String) async throws {
        let live = try await harness.run(["terminate-ec2-instances", "--dry-run"], env: cloud.environment)
        #expect(live.status == 0, "\(live.stderr)")
        #expect(live.stdout.isEmpty, "\(context): instances still live: \(live.stdout)")
        #expect(try await cloud.waitUntilNoMachines(), "\(context): machines still up: \(cloud.machines)\n\(cloud.log)")
    }

    @Test("two instances: the working copy is synced to them, the sample suite runs on both, both are terminated")
    func runsAndTerminates() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            let outcome = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "aws:2:t3.micro"], env: cloud.environment)
            #expect(outcome.status == 0, "\(outcome.stderr)\n\(cloud.log)")
            let total = try RunTestsHarness.sampleTests().count
            #expect(outcome.stdout.contains("\(total - 1) passed, 0 failed, 1 skipped"), "\(outcome.stdout)")
            #expect(outcome.stderr.contains("launching 2 × t3.micro"))
            // The source reached each instance through sync, not a pre-made --workdir.
            #expect(outcome.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("sync ") }.count == 2, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("terminated 2 instances (run finished)"), "\(outcome.stderr)")
            // Both instances took tests: two distinct hosts in the slot names.
            let hosts = Set(outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("PASS") }.compactMap { line in
                line.split(separator: "[").last?.split(separator: "#").first.map(String.init)
            })
            #expect(hosts.count == 2, "\(outcome.stdout)")
            try await expectNothingLeft(cloud, harness, "after a passing run")
        }
    }

    @Test("a second simulated cloud under the same state directory: the stale account record is re-checked once and the run goes on")
    func secondCloudSameState() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let run = RunTestsHarness.sampleSuite + ["--target", "aws:1:t3.micro", "--log-level", "info"]
        let total = try RunTestsHarness.sampleTests().count
        for round in 1...2 {
            // A fresh moto each round: nothing of the account the state directory remembers is there.
            try await TestCloudFixture.with { cloud in
                let outcome = try await harness.run(run, env: cloud.environment)
                let context = "round \(round): status \(outcome.status)\n\(outcome.stderr)\n\(cloud.log.suffix(2000))"
                #expect(outcome.status == 0, "\(context)")
                #expect(outcome.stdout.contains("\(total - 1) passed, 0 failed, 1 skipped"), "\(context)")
                let rechecks = outcome.stderr.components(separatedBy: "\n").filter { $0.contains("aws.account.stale") }
                #expect(rechecks.count == (round == 1 ? 0 : 1), "one re-check, logged, in the second round only: \(context)")
                try await expectNothingLeft(cloud, harness, "round \(round)")
            }
        }
    }

    @Test("--spot: a dry run prices spot, then the sample suite runs on fleet-launched spot instances, which are terminated, template and all")
    func spotRunsAndTerminates() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            let target = ["--target", "aws:2:t3.micro", "--spot"]
            let plan = try await harness.run(RunTestsHarness.sampleSuite + target + ["--dry-run"], env: cloud.environment)
            #expect(plan.status == 0, "\(plan.stderr)")
            #expect(plan.stdout.contains("on demand (2 × $0.0104/h"), "\(plan.stdout)")
            #expect(plan.stdout.contains("spot: $0.00 at today's spot price (2 × $0.000010/h"), "moto prices every pool at $0.00001: \(plan.stdout)")
            #expect(plan.stdout.contains("the cheapest of t3.micro, t3a.micro"), "\(plan.stdout)")
            #expect(cloud.machines.isEmpty, "a dry run launches nothing")

            let outcome = try await harness.run(RunTestsHarness.sampleSuite + target, env: cloud.environment)
            #expect(outcome.status == 0, "\(outcome.stderr)\n\(cloud.log)")
            let total = try RunTestsHarness.sampleTests().count
            #expect(outcome.stdout.contains("\(total - 1) passed, 0 failed, 1 skipped"), "\(outcome.stdout)")
            #expect(outcome.stderr.contains("launching 2 × t3.micro as spot"), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("2 instances: 2 spot, 0 on demand"), "\(outcome.stderr)")
            let priced = outcome.stderr.split(separator: "\n").filter { $0.contains(" spot in us-") && $0.hasSuffix("$0.000010/h spot price at launch") }
            #expect(priced.count == 2, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("terminated 2 instances (run finished)"), "\(outcome.stderr)")
            // Both fleet instances took tests: their one shared host key was pinned for each address.
            let hosts = Set(outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("PASS") }.compactMap { line in
                line.split(separator: "[").last?.split(separator: "#").first.map(String.init)
            })
            #expect(hosts.count == 2, "\(outcome.stdout)")
            // terminate-ec2-instances --dry-run lists launch templates too: none may be left.
            try await expectNothingLeft(cloud, harness, "after a spot run")
        }
    }

    @Test("--spot: Ctrl-C while launching terminates what the fleet launched and deletes the launch template")
    func spotInterruptedWhileLaunching() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            let running = try harness.start(Self.suite(test: "sleep 60") + ["--target", "aws:2:t3.micro", "--spot"], env: cloud.environment)
            #expect(try await running.waitForStderr("launching", seconds: 120), "never reached: \(running.stderrSoFar)")
            kill(running.process.processIdentifier, SIGINT)
            let outcome = try await running.wait(hangGuard: 300)
            #expect(outcome.status == 130, "\(outcome.stderr)")
            try await expectNothingLeft(cloud, harness, "after Ctrl-C while launching spot instances")
        }
    }

    @Test("failing tests exit 1 and still terminate the instances")
    func failingTestsTerminate() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            let outcome = try await harness.run(Self.suite(test: "test \"$0\" != delta") + ["--target", "aws:1:t3.micro"], env: cloud.environment)
            #expect(outcome.status == 1, "\(outcome.stderr)")
            #expect(outcome.stdout.contains("5 passed, 1 failed"), "\(outcome.stdout)")
            #expect(outcome.stderr.contains("terminated 1 instances (run finished)"), "\(outcome.stderr)")
            try await expectNothingLeft(cloud, harness, "after failing tests")
        }
    }

    @Test("Ctrl-C while launching, connecting, syncing and running: exit 130, nothing left", arguments: [
        ("launching", "launching"), ("connecting", "waiting for SSH"), ("syncing", "syncing "), ("running", "running 6 tests"),
    ])
    func interruptInEachPhase(phase: String, marker: String) async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            // The syncing case syncs this repository (the others run in /tmp): a Ctrl-C that lands
            // once the sync is over still stops the run, with the same outcome.
            let suite = Self.suite(test: "sleep 60", workdir: phase == "syncing" ? nil : "/tmp")
            let running = try harness.start(suite + ["--target", "aws:2:t3.micro"], env: cloud.environment)
            #expect(try await running.waitForStderr(marker, seconds: 120), "\(phase): never reached: \(running.stderrSoFar)")
            kill(running.process.processIdentifier, SIGINT)
            let outcome = try await running.wait(hangGuard: 300)
            #expect(outcome.status == 130, "\(phase): \(outcome.stderr)")
            #expect(outcome.stderr.contains("terminated"), "\(phase): \(outcome.stderr)")
            try await expectNothingLeft(cloud, harness, "after Ctrl-C while \(phase)")
        }
    }

    @Test("Ctrl-C again while the first one waits on an instance that stopped answering: exit 130 at once, instances still terminated")
    func interruptWhileCollecting() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            let running = try harness.start(Self.suite(test: "sleep 120") + ["--target", "aws:2:t3.micro"], env: cloud.environment)
            #expect(try await running.waitForStderr("running 6 tests"), "never ran")
            // One instance's agent stops (SIGSTOP, by the pid its state file names): the first
            // Ctrl-C cancels the tests and then waits to collect from an agent that cannot answer.
            let instance = try #require(cloud.machines.sorted().first)
            let stop = try await cloud.runInMachine(instance, #"for s in /home/*/.cache/automation/agent-*.state; do l=$(cat "$s"); p=${l#*\"pid\":}; kill -STOP "${p%%[!0-9]*}"; done"#)
            try #require(stop.status == 0, "\(stop.output)")
            kill(running.process.processIdentifier, SIGINT)
            #expect(try await running.waitForStderr("interrupted:"), "no interrupt note")
            try #require(running.process.isRunning, "the run ended before the second Ctrl-C; it should be collecting")
            kill(running.process.processIdentifier, SIGINT)
            let outcome = try await running.wait(hangGuard: 300)
            #expect(outcome.status == 130, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("terminated 2 instances"), "\(outcome.stderr)")
            #expect(outcome.stdout.contains("0 passed, 0 failed, 0 skipped, 6 not run"), "every test accounted for as not run: \(outcome.stdout)")
            try await expectNothingLeft(cloud, harness, "after Ctrl-C twice while collecting")
        }
    }

    @Test("an instance that dies mid-run: its tests re-run on the other one, the summary names it, exit 3, both terminated")
    func hostLostMidRun() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            let running = try harness.start(Self.suite(test: "sleep 4") + ["--target", "aws:2:t3.micro", "--lost-after", "5", "-j", "1"],
                                            env: cloud.environment)
            #expect(try await running.waitForStderr("running 6 tests"), "never ran")
            try await Task.sleep(for: .seconds(1))
            // Pull the plug on one machine: its network namespace and every process in it go.
            let victim = try #require(cloud.machines.sorted().first)
            let down = await RunTestsHarness.shellOffPool([TestCloudFixture.script.appendingPathComponent("machine.sh").path, "down",
                                                           cloud.directory.appendingPathComponent("machines/\(victim)").path])
            #expect(down.status == 0, "\(down.output)")
            let outcome = try await running.wait(hangGuard: 300)
            #expect(outcome.status == 3, "\(outcome.stdout)\n\(outcome.stderr)")
            #expect(outcome.stdout.contains("6 passed, 0 failed"), "every test accounted for, on the surviving instance: \(outcome.stdout)")
            #expect(outcome.stdout.contains("lost"), "the summary names the lost target: \(outcome.stdout)")
            #expect(outcome.stderr.contains("terminated 2 instances"), "\(outcome.stderr)")
            try await expectNothingLeft(cloud, harness, "after an instance died mid-run")
        }
    }

    @Test("--keep leaves the instances up and prints ready --target lines")
    func keepPrintsTargets() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            let outcome = try await harness.run(Self.suite() + ["--target", "aws:2:t3.micro", "--keep"], env: cloud.environment)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let targets = outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("--target ssh://admin@") }
            #expect(targets.count == 2, "\(outcome.stdout)")
            #expect(cloud.machines.count == 2)
            // The printed lines work as they are: same state directory, no key or host key flags.
            let target = try #require(targets.first).split(separator: " ").map(String.init)
            let exec = try await harness.run(["exec"] + target + ["--", "true"], env: cloud.environment)
            #expect(exec.status == 0, "\(exec.stderr)")
            let cleanup = try await harness.run(["terminate-ec2-instances"], env: cloud.environment)
            #expect(cleanup.status == 0, "\(cleanup.stderr)")
            try await expectNothingLeft(cloud, harness, "after --keep and terminate-ec2-instances")
        }
    }

    @Test("an AWS error at launch: exit 255 with the AWS error, nothing left")
    func awsErrorAtLaunch() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        // Without AWS's managed policies the namespace role cannot get its SSM policy: IAM says NoSuchEntity.
        try await TestCloudFixture.with(environment: ["MOTO_IAM_LOAD_MANAGED_POLICIES": "false"]) { cloud in
            let outcome = try await harness.run(Self.suite() + ["--target", "aws:2:t3.micro"], env: cloud.environment)
            #expect(outcome.status == 255, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("AttachRolePolicy failed: NoSuchEntity"), "\(outcome.stderr)")
            try await expectNothingLeft(cloud, harness, "after a failed launch")
        }
    }

    @Test("aws:N is refused where it cannot work, with a way out")
    func awsTargetsOutsideRunTests() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let exec = try await harness.run(["exec", "--target", "aws:1", "--", "true"])
        #expect(exec.status == 64, "\(exec.stderr)")
        #expect(exec.stderr.contains("automation aws launch"))
        for bad in ["aws:0", "aws:257", "aws:2:not a type", "aws:x", "aws:1:c5.large:extra"] {
            let outcome = try await harness.run(Self.suite() + ["--target", bad])
            #expect(outcome.status == 64, "\(bad): \(outcome.stderr)")
        }
    }
}
