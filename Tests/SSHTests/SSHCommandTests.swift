import AutomationKit
import Foundation
import Testing
import TestSupport

@Suite("put, get and check-target against a real sshd", .serialized)
struct SSHCommandTests {
    @Test(.requires(.sshd)) func putGetAndCheckTarget() async throws {
        try SSHDFixture.require()
        try await AgentHostFixture.with { fixture in
            let sshd = fixture.sshd
            let automation = try BuiltProducts.automation()
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
            #expect(missing.status == 4)
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

    @Test("after aws launch: ssh:// targets use the pinned host keys and the namespace key from the state directory, no flags",
          .requires(.sshd))
    func stateDirectoryKeysNeedNoFlags() async throws {
        try await AgentHostFixture.with { fixture in
            let sshd = fixture.sshd
            let automation = try BuiltProducts.automation()
            // What `aws launch` leaves: the namespace key under aws/keys and the host key in known_hosts.
            let keys = fixture.stateDirectory + "/aws/keys/ns1"
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: sshd.clientKey, toPath: keys + "/id_ed25519")
            let hostKey = try String(contentsOfFile: sshd.directory + "/ssh_host_ed25519_key.pub", encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            try "[127.0.0.1]:\(sshd.port) \(hostKey)\n".write(toFile: fixture.stateDirectory + "/known_hosts", atomically: true, encoding: .utf8)
            // An empty home: no ~/.ssh keys to fall back on.
            let home = fixture.stateDirectory + "/home"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)

            let run = try CLI.run([automation, "--state-path", fixture.stateDirectory, "exec",
                                   "--target", "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)", "--agent-idle-timeout", "30", "--", "echo", "reached"],
                                  environment: ["HOME": home])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "reached\n")

            // Without the pinned key the same command is refused: the key was not trusted on first use.
            try FileManager.default.removeItem(atPath: fixture.stateDirectory + "/known_hosts")
            let refused = try CLI.run([automation, "--state-path", fixture.stateDirectory, "exec",
                                       "--target", "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)", "--", "true"], environment: ["HOME": home])
            #expect(refused.status == 255)
        }
    }

    @Test("an address map sends a target's connection elsewhere; its host key is still checked under the target's name",
          .requires(.sshd))
    func addressMapRedirectsTheConnection() async throws {
        try await AgentHostFixture.with { fixture in
            let sshd = fixture.sshd
            let automation = try BuiltProducts.automation()
            try FileManager.default.createDirectory(atPath: fixture.stateDirectory, withIntermediateDirectories: true)
            // 203.0.113.0/24 is documentation space: the connection can only succeed through the map.
            let map = fixture.stateDirectory + "/address-map"
            try "203.0.113.77 127.0.0.1:\(sshd.port)\n".write(toFile: map, atomically: true, encoding: .utf8)
            let hostKey = try String(contentsOfFile: sshd.directory + "/ssh_host_ed25519_key.pub", encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            try "203.0.113.77 \(hostKey)\n".write(toFile: fixture.stateDirectory + "/known_hosts", atomically: true, encoding: .utf8)
            let command = [automation, "exec", "--state-path", fixture.stateDirectory, "--identity", sshd.clientKey,
                           "--target", "ssh://\(sshd.user)@203.0.113.77", "--agent-idle-timeout", "30", "--", "echo", "mapped"]

            let run = try CLI.run(command, environment: [AddressMap.variable: map])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "mapped\n")

            // The key pinned for 127.0.0.1 does not count for 203.0.113.77: no key, no connection.
            try "[127.0.0.1]:\(sshd.port) \(hostKey)\n".write(toFile: fixture.stateDirectory + "/known_hosts", atomically: true, encoding: .utf8)
            let refused = try CLI.run(command, environment: [AddressMap.variable: map])
            #expect(refused.status == 255)
            #expect(refused.stderr.contains("203.0.113.77"), "\(refused.stderr)")

            let missing = try CLI.run(command, environment: [AddressMap.variable: fixture.stateDirectory + "/no-such-map"])
            #expect(missing.status == 64)
            #expect(missing.stderr.contains("AUTOMATION_ADDRESS_MAP"), "\(missing.stderr)")
        }
    }
}
