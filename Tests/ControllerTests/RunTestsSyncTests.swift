import Foundation
import Testing
import TestSupport

/// `run-tests` on an ssh target without --workdir: the working copy (this
/// repository, as git sees it) is synced first into the agent user's
/// ~/.cache/automation/work/<project>, and a second run moves nothing.
@Suite("run-tests --sync to a local and an ssh target", .serialized, .timeLimit(.minutes(10)))
struct RunTestsSyncTests {
    @Test("sync by default for a remote target; the second run sends nothing", .requires(.sshd))
    func syncThenRun() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let host = try FaultSSHHost(in: harness)
        defer { host.stop() }
        let sshdDir = host.directory, port = host.port, user = host.user, fingerprint = host.fingerprint
        let project = "sync-e2e-\(UUID().uuidString.prefix(8))"
        let remoteHome = FileManager.default.homeDirectory(forUser: user)?.path ?? "/home/\(user)"
        defer {
            try? FileManager.default.removeItem(atPath: "\(remoteHome)/.cache/automation/work/\(project)")
            try? FileManager.default.removeItem(atPath: "\(NSHomeDirectory())/.cache/automation/work/\(project)")
        }
        let arguments = RunTestsHarness.sampleSuite + [
            "--target", "local:1", "--target", "ssh://\(user)@127.0.0.1:\(port)/2",
            "--identity", sshdDir + "/id_ed25519", "--host-key", String(fingerprint),
            "--project", project, "--env", "SAMPLE_FAIL=1", "--agent-idle-timeout", "15",
        ]
        let first = try await harness.run(arguments)
        #expect(first.status == 1, "stdout: \(first.stdout)\nstderr: \(first.stderr)")
        #expect(first.stdout.split(separator: "\n").last == "28 passed, 1 failed, 1 skipped")
        let copy = "\(remoteHome)/.cache/automation/work/\(project)"
        #expect(first.stderr.contains("-> \(copy): "), "\(first.stderr)")
        #expect(FileManager.default.isExecutableFile(atPath: copy + "/examples/sample-suite/run-test"))
        #expect(!FileManager.default.fileExists(atPath: copy + "/.build"), "ignored files stay behind")

        let second = try await harness.run(arguments)
        #expect(second.status == 1, "\(second.stderr)")
        let syncLines = second.stderr.split(separator: "\n").filter { $0.hasPrefix("sync ") }
        #expect(syncLines.count == 2 && syncLines.allSatisfy { $0.contains(": 0 files sent (0 B), 0 deleted") }, "\(syncLines)")
    }
}
