import Foundation
import Testing

@Suite("put, get and check-target against a real sshd", .serialized)
struct SSHCommandTests {
    @Test(.enabled(if: SSHDFixture.enabled, SSHDFixture.missing)) func putGetAndCheckTarget() async throws {
        try SSHDFixture.require()
        try await AgentHostFixture.with { fixture in
            let sshd = fixture.sshd
            let automation = try AgentHostFixture.automationBinary()
            let connection = ["--identity", sshd.clientKey, "--host-key", try sshd.hostKeyFingerprint(), "--state-path", fixture.stateDirectory]
            let target = ["--target", "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)"] + connection
            try FileManager.default.createDirectory(atPath: fixture.stateDirectory, withIntermediateDirectories: true)
            let source = fixture.stateDirectory + "/source"
            let bytes = Data((0..<2_500_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
            FileManager.default.createFile(atPath: source, contents: bytes, attributes: [.posixPermissions: 0o640])

            let put = try CLI.run([automation, "put", source, "put-test-file"] + target)
            #expect(put.status == 0, "\(put.stderr)")
            let remote = sshd.home + "/put-test-file"
            defer { unlink(remote) }
            #expect(FileManager.default.contents(atPath: remote) == bytes)
            #expect((try FileManager.default.attributesOfItem(atPath: remote)[.posixPermissions] as? Int) == 0o640)

            let back = fixture.stateDirectory + "/back"
            let get = try CLI.run([automation, "get", "put-test-file", back] + target)
            #expect(get.status == 0, "\(get.stderr)")
            #expect(FileManager.default.contents(atPath: back) == bytes)

            let missing = try CLI.run([automation, "get", "no-such-file", back] + target)
            // The host answered (no such file): a target error, not the tool's own failure (255) nor "tests failed" (1).
            #expect(missing.status == 3)
            #expect(missing.stderr.contains("no-such-file"))

            let check = try CLI.run([automation, "check-target", "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)"] + connection)
            for name in ["architecture", "/bin/bash", "passwordless sudo", "free disk", "SFTP", "writable home", "writable agent cache"] {
                #expect(check.stdout.contains(name), "report lacks \(name): \(check.stdout)")
            }
            // The fixture's test user has no sudo, so the host is reported not ready.
            #expect(check.stdout.contains("not ready"))
            #expect(check.status == 1)
        }
    }
}
