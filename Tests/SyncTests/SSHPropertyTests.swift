import AgentProtocol
import ArgumentParser
import Foundation
import Logging
import Testing
import TestSupport
@testable import AutomationKit
@testable import SyncCore

/// The random-edit property over a real sshd (deploy/testhost/sshd.sh): one
/// held SSH connection, the deployed static agent, a hash walk after each sync.
@Suite("sync property over SSH", .serialized, .timeLimit(.minutes(10)))
struct SSHPropertyTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("property: random trees and edit sequences converge over SSH", .requires(.sshd))
    func randomEditsOverSSH() async throws {
        let work = try TreeFixture.temporary("ssh-prop")
        defer { work.remove() }
        chmod(work.root, 0o755)  // sshd reads authorized_keys below it as the test user
        let script = Self.repoRoot + "/deploy/testhost/sshd.sh"
        let started = try SyncHarness.run([script, "start", work.root + "/sshd", "INFO"])
        defer { _ = try? SyncHarness.run([script, "stop", work.root + "/sshd"]) }
        try #require(started.status == 0, "sshd.sh: \(started.stderr)")
        let port = try String(contentsOfFile: work.root + "/sshd/port", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let user = try String(contentsOfFile: work.root + "/sshd/user", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let fingerprint = try SyncHarness.shell("ssh-keygen -l -E sha256 -f '\(work.root)/sshd/ssh_host_ed25519_key.pub' | cut -d' ' -f2")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // An agent of its own (unique hash): other suites deploy to the same test user concurrently.
        var agentBytes = try Data(contentsOf: URL(fileURLWithPath: try BuiltProducts.agent()))
        agentBytes.append(contentsOf: Array("sync-prop-\(UUID().uuidString)".utf8))
        let agent = work.root + "/agent"
        FileManager.default.createFile(atPath: agent, contents: agentBytes, attributes: [.posixPermissions: 0o755])
        let options = try TargetOptions.parse(["--target", "ssh://\(user)@127.0.0.1:\(port)", "--identity", work.root + "/sshd/id_ed25519",
                                               "--host-key", fingerprint, "--agent-binary", agent, "--agent-idle-timeout", "15"])
        let client = try await Targets.connect(try options.specs()[0], options: options, state: StatePaths(explicit: work.root + "/state"),
                                               logger: SyncHarness.logger)
        defer { client.close() }

        let src = try TreeFixture.temporary("src")
        defer { src.remove() }
        let home = FileManager.default.homeDirectory(forUser: user)?.path ?? "/home/\(user)"
        let dest = TreeFixture(root: "\(home)/sync-prop-\(UUID().uuidString.prefix(8))")
        defer { dest.remove() }
        var rng = SplitMix64(seed: 77)
        for round in 0..<8 {
            for _ in 0..<(round == 0 ? 40 : Int.random(in: 1...8, using: &rng)) { try src.randomEdit(&rng) }
            try await SyncHarness.sync(client, src.root, to: dest.root, small: round % 2 == 1)
            #expect(try dest.hashWalk() == src.hashWalk(), "round \(round)")
            if round == 0 {
                let built = try dest.allPaths().count, expected = try src.allPaths().count
                #expect(built > 3 && built == expected, "the first round built a tree: \(built) of \(expected) entries")
                var st = stat()
                #expect(lstat(dest.root, &st) == 0 && st.st_uid != 0, "written by the SSH user's agent, not root")
            }
            let again = try await SyncHarness.sync(client, src.root, to: dest.root)
            #expect(again.filesSent == 0 && again.deleted == 0 && again.otherChanges == 0, "no-op after round \(round): \(again.line)")
        }
    }
}
