import Foundation
import Testing
import TestSupport

/// hgautomation's main job on the simulated cloud, the whole way: `run-tests-linux` from a
/// pristine Mercurial working copy builds the namespace's dev image (a builder bootstraps
/// Debian 12 for real through the cloud's internet gateway, then is imaged and terminated),
/// launches two instances from it, makes /hgwork ext4 on each, syncs the copy, builds hg
/// once per instance, shards Mercurial tests over both and terminates them.
@Suite("run-tests-linux on the simulated cloud", .serialized, .timeLimit(.minutes(30)),
       .requires(TestCloudFixture.requirement))
struct CloudMercurialTests {
    static let selection = ["test-abort-checkin.t", "test-bad-pull.t", "test-empty.t", "test-automation-sample-failure.t"]

    @Test("dev image built, /hgwork ext4, Mercurial tests sharded over two instances, nothing left but the image")
    func runTestsLinux() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        _ = try MercurialFixture.prepare()
        // A pristine copy: the instances build their own hg (a copy built here would carry this machine's venv).
        let copy = harness.scratch.appendingPathComponent("hg")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        let untar = await RunTestsHarness.shellOffPool(["tar", "xzf", MercurialFixture.cache.appendingPathComponent("mercurial-\(MercurialFixture.version).tar.gz").path,
                                                        "-C", copy.path, "--strip-components=1"])
        try #require(untar.status == 0, "\(untar.output)")
        try Data("""
            A test that fails on purpose, so the failure's diff must come back from the instance.

              $ echo hello
              goodbye

            """.utf8).write(to: copy.appendingPathComponent("tests/test-automation-sample-failure.t"))

        try await TestCloudFixture.with { cloud in
            let outcome = try await harness.start(
                ["run-tests-linux", "--instances", "2", "--instance-type", "t3.micro", "--filesystem", "ext4",
                 "--pythons", "system", "--src", "pypi", "--ssh-cidr", "127.0.0.1/32"] + Self.selection,
                env: cloud.environment, cwd: copy).wait(hangGuard: 1500)
            let context = "stdout:\n\(outcome.stdout.suffix(3000))\nstderr:\n\(outcome.stderr.suffix(6000))\ncloud:\n\(cloud.log.suffix(2000))"
            #expect(outcome.status == 1, "one test fails on purpose: \(context)")
            #expect(outcome.stdout.contains("3 passed, 1 failed"), "\(context)")
            #expect(outcome.stdout.contains("+  goodbye") || outcome.stdout.contains("+  hello") || outcome.stdout.contains("hello"), "the failure's diff: \(context)")
            #expect(outcome.stderr.contains("building it first"), "\(context)")
            #expect(outcome.stderr.contains("built dev image ami-"), "\(context)")
            #expect(outcome.stderr.contains("/hgwork (ext4) ready on every instance"), "\(context)")
            #expect(outcome.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("sync ") && $0.contains("-> /hgwork/src: ssh://hg@") }.count == 2, "\(context)")
            #expect(outcome.stderr.contains("terminated 2 instances (run finished)"), "\(context)")
            let hosts = Set(outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") }.compactMap { line in
                line.split(separator: "[").last?.split(separator: "#").first.map(String.init)
            })
            #expect(hosts.count == 2, "both instances ran tests: \(context)")

            // Nothing live: no instance, no builder, no machine, no volume; the image stays for the next run.
            let live = try await harness.run(["terminate-ec2-instances", "--dry-run"], env: cloud.environment)
            #expect(live.status == 0 && live.stdout.isEmpty, "instances still live: \(live.stdout) \(live.stderr)")
            #expect(try await cloud.waitUntilNoMachines(), "machines still up: \(cloud.machines)")
            let purge = try await harness.run(["purge-ec2-resources", "--dry-run"], env: cloud.environment)
            #expect(purge.stdout.contains("would delete image ami-") && purge.stdout.contains("linux-dev-debian12"), "the dev image: \(purge.stdout)")
            let volumes = await RunTestsHarness.shellOffPool(["python3", "-c", """
                import boto3
                ec2 = boto3.client("ec2", region_name="us-west-2")
                print(len([v for v in ec2.describe_volumes()["Volumes"] if v["State"] != "deleted"]))
                """], env: cloud.environment)
            #expect(volumes.status == 0 && volumes.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "volumes left: \(volumes.output)")
        }
    }
}
