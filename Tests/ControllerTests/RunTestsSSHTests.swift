import Foundation
import Testing
import TestSupport

/// One queue across a local target and an ssh target (a private sshd on
/// loopback from deploy/testhost/sshd.sh, the source tree already present).
@Suite("run-tests across local and ssh targets", .serialized, .requires(.sshd))
struct RunTestsSSHTests {
    @Test("both targets take tests from the same queue; results and reports name each host")
    func localAndSSH() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let host = try FaultSSHHost(in: harness)
        defer { host.stop() }
        let sshdDir = host.directory, port = host.port, user = host.user, fingerprint = host.fingerprint

        let json = harness.scratch.appendingPathComponent("r.jsonl")
        // An agent of its own hash: SSH suites running at the same time share the test user,
        // and one agent per host, user and hash means they would share (and stop) each other's.
        let agent = try UniqueAgent(in: harness)
        defer { agent.killAll() }
        let result = try await harness.run(RunTestsHarness.sampleSuite + [
            "--target", "local:2", "--target", "ssh://\(user)@127.0.0.1:\(port)/2", "--agent-binary", agent.path,
            "--identity", sshdDir + "/id_ed25519", "--host-key", String(fingerprint),
            "--workdir", RunTestsHarness.repoRoot.path, "--env", "SAMPLE_FAIL=1", "--json-report", json.path,
        ])
        #expect(result.status == 1, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").last == "28 passed, 1 failed, 1 skipped")
        let events = try RunTestsHarness.events(json)
        #expect(Set(events.compactMap { $0["test"] as? String }) == Set(try RunTestsHarness.sampleTests()))
        let hosts = Set(events.compactMap { $0["host"] as? String })
        #expect(hosts == ["localhost", "127.0.0.1"], "hosts: \(hosts)")
        #expect(!events.contains { $0["infrastructure"] as? Bool == true })
    }
}
