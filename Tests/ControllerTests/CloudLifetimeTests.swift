import Foundation
import Testing
import TestSupport

/// Instances end themselves when nobody ends them (simulated cloud, deploy/testcloud):
/// a killed controller's instances power off once their agents have been idle for
/// `--instance-idle-timeout`, and any instance powers off at its `--ttl`. Powering off
/// terminates them (InstanceInitiatedShutdownBehavior=terminate), as on EC2.
@Suite("instances end themselves (simulated cloud)", .serialized, .timeLimit(.minutes(15)),
       .requires(TestCloudFixture.requirement))
struct CloudLifetimeTests {
    /// Waits, with a generous bound that only guards against a hang, until moto reports every
    /// instance terminated and the cloud has removed every machine; the states last seen.
    func waitUntilAllTerminated(_ cloud: TestCloudFixture, bound: Double = 180) async throws -> [String: String] {
        var states: [String: String] = [:]
        _ = try await eventually(within: bound, every: .milliseconds(500)) {
            states = try await cloud.instanceStates()
            return !states.isEmpty && states.values.allSatisfy({ $0 == "terminated" }) && cloud.machines.isEmpty
        }
        return states
    }

    @Test("a controller killed mid-run: its instance powers off after --instance-idle-timeout and is terminated")
    func vanishedController() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            // Every test sleeps far longer than the idle timeout: only a vanished controller ends them.
            let running = try harness.start(CloudRunTests.suite(test: "sleep 600") + [
                "--target", "aws:1:t3.micro", "--instance-idle-timeout", "5s",
            ], env: cloud.environment)
            try #require(try await running.waitForStderr("running 6 tests", seconds: 300), "the run never started its tests: \(running.soFar)\n\(cloud.log)")
            #expect(cloud.machines.count == 1)
            kill(running.process.processIdentifier, SIGKILL)
            _ = try await running.wait(hangGuard: 30)
            #expect(!running.stderrSoFar.contains("terminated 1 instances"), "the controller itself must not have terminated it")

            let states = try await waitUntilAllTerminated(cloud)
            #expect(states.count == 1 && states.values.allSatisfy { $0 == "terminated" }, "moto: \(states)\n\(cloud.log)")
            #expect(cloud.machines.isEmpty, "machines still up: \(cloud.machines)\n\(cloud.log)")
            #expect(cloud.log.contains("powered itself off (shutdown behaviour terminate)"), "\(cloud.log)")
        }
    }

    @Test("a controller that stops answering (a laptop asleep): sshd drops it, then its instance powers off and is terminated")
    func silentController() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            let running = try harness.start(CloudRunTests.suite(test: "sleep 600") + [
                "--target", "aws:1:t3.micro", "--instance-idle-timeout", "5s",
            ], env: cloud.environment)
            let pid = running.process.processIdentifier
            defer {
                kill(pid, SIGKILL)
                kill(pid, SIGCONT)
            }
            try #require(try await running.waitForStderr("running 6 tests", seconds: 300), "the run never started its tests: \(running.soFar)\n\(cloud.log)")
            // Stopped, its connections stay open (the kernel still acknowledges) but nothing answers
            // sshd's keepalives: only the instance's own sshd settings can end its sessions.
            kill(pid, SIGSTOP)
            let states = try await waitUntilAllTerminated(cloud, bound: 300)
            #expect(states.count == 1 && states.values.allSatisfy { $0 == "terminated" }, "moto: \(states)\n\(cloud.log)")
            #expect(cloud.machines.isEmpty, "machines still up: \(cloud.machines)\n\(cloud.log)")
            #expect(cloud.log.contains("powered itself off (shutdown behaviour terminate)"), "\(cloud.log)")
        }
    }

    @Test("aws launch --ttl: the instance powers itself off at its expiry and is terminated")
    func ttlExpiry() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            let launch = try await harness.run(["aws", "launch", "--count", "1", "--instance-type", "t3.micro", "--ttl", "5s",
                                                "--ssh-cidr", "127.0.0.1/32"], env: cloud.environment)
            #expect(launch.status == 0, "\(launch.stderr)")
            let states = try await waitUntilAllTerminated(cloud)
            #expect(states.count == 1 && states.values.allSatisfy { $0 == "terminated" }, "moto: \(states)\n\(cloud.log)")
            #expect(cloud.machines.isEmpty, "machines still up: \(cloud.machines)\n\(cloud.log)")
            #expect(cloud.log.contains("powered itself off (shutdown behaviour terminate)"), "\(cloud.log)")
        }
    }

    /// Waits (bounded: a hang guard, not a timing assertion) until the cloud's log holds `text` `count` times.
    func waitForLog(_ cloud: TestCloudFixture, _ text: String, count: Int = 1, bound: Double = 120) async throws {
        guard await eventually(within: bound, every: .milliseconds(200), { cloud.log.components(separatedBy: text).count - 1 >= count }) else {
            throw HarnessError("the cloud never logged \"\(text)\" \(count) times:\n\(cloud.log)")
        }
    }

    static func isRegularFile(_ url: URL) -> Bool {
        var info = stat()
        return lstat(url.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    @Test("a power-off request never outlives its boot: the stopped instance starts and stays up, its image does not carry it")
    func staleRequestDropped() async throws {
        try await TestCloudFixture.with { cloud in
            // EC2's default shutdown behaviour, stop, keeps the disk with the request on it.
            let launch = """
                r = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                      UserData="#cloud-boothook\\n#!/bin/sh\\nssh-keygen -A\\n")
                print(r["Instances"][0]["InstanceId"])
                """
            let id = try await cloud.ec2("IMAGE = ec2.describe_images()['Images'][0]['ImageId']\n" + launch)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try await waitForLog(cloud, "\(id) up at")
            let request = cloud.machineDirectory(id).appendingPathComponent("upper/var/lib/testcloud/poweroff")
            let shutdown = try await cloud.runInMachine(id, "PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin; shutdown -h now")
            #expect(shutdown.status == 0, "\(shutdown.output)")
            #expect(Self.isRegularFile(request), "the shutdown was not recorded on the machine's disk")
            try await waitForLog(cloud, "\(id) stopped")
            #expect(cloud.log.contains("\(id) powered itself off (shutdown behaviour stop)"), "\(cloud.log)")
            #expect(try await cloud.instanceStates()[id] == "stopped")

            let image = try await cloud.ec2("print(ec2.create_image(InstanceId='\(id)', Name='poweroff-request-test')['ImageId'])")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try await waitForLog(cloud, "image \(image) captured from \(id)")
            let layer = cloud.directory.appendingPathComponent("images").appendingPathComponent(image)
            #expect(!Self.isRegularFile(layer.appendingPathComponent("var/lib/testcloud/poweroff")), "the image captured the request")

            let fromImage = try await cloud.ec2("IMAGE = '\(image)'\n" + launch).trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await cloud.ec2("ec2.start_instances(InstanceIds=['\(id)'])")
            try await waitForLog(cloud, "\(fromImage) up at")
            try await waitForLog(cloud, "\(id) up at", count: 2)
            // What the cloud's loop reads: no request on either booted disk, so neither powers off.
            for instance in [id, fromImage] {
                let stale = cloud.machineDirectory(instance).appendingPathComponent("upper/var/lib/testcloud/poweroff")
                #expect(!Self.isRegularFile(stale), "\(instance) booted with a power-off request")
            }
            let states = try await cloud.instanceStates()
            #expect(states[id] == "running" && states[fromImage] == "running", "\(states)\n\(cloud.log)")
            #expect(cloud.log.components(separatedBy: "powered itself off").count - 1 == 1, "\(cloud.log)")
        }
    }

    @Test("--instance-idle-timeout is range-checked")
    func idleTimeoutRange() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        for bad in ["0", "soon", "366d", "-5"] {
            let outcome = try await harness.run(CloudRunTests.suite() + ["--target", "aws:1", "--instance-idle-timeout", bad])
            #expect(outcome.status == 64, "\(bad): \(outcome.stderr)")
            #expect(outcome.stderr.contains("--instance-idle-timeout"), "\(bad): \(outcome.stderr)")
        }
    }
}
