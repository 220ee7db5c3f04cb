import AgentProtocol
import AutomationKit
import Foundation
import Logging
import SSH
import Testing
import TestSupport

@Suite("SSH target: deploy, tunnel, one connection", .serialized)
struct SSHTargetTests {
    @Test(.requires(.sshd)) func agentUploadIsSkippedWhenTheHashMatchesAndRedoneWhenNot() async throws {
        try SSHDFixture.require()
        try await AgentHostFixture.with { fixture in
            // A binary of its own (unique bytes, unique hash): other suites share
            // this test user's cache and deploy the plain agent concurrently.
            let own = fixture.stateDirectory + "/agent-own"
            var ownBytes = try Data(contentsOf: URL(fileURLWithPath: BuiltProducts.agent()))
            ownBytes.append(contentsOf: Array(UUID().uuidString.utf8))
            try FileManager.default.createDirectory(atPath: fixture.stateDirectory, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: own, contents: ownBytes, attributes: [.posixPermissions: 0o755])
            let first = try await fixture.start(agentBinary: own)
            #expect(first.agent.uploaded)
            #expect(first.agent.path.hasPrefix(".cache/automation/agent-"))
            let mode = try FileManager.default.attributesOfItem(atPath: fixture.sshd.home + "/" + first.agent.path)[.posixPermissions] as? Int
            #expect(mode == 0o755)

            // Cached redeploy: this state directory put this binary there, so
            // no SFTP session is opened at all.
            let sftpBefore = fixture.sshd.log.components(separatedBy: "subsystem 'sftp'").count
            let second = try await fixture.start(agentBinary: own)
            #expect(!second.agent.uploaded)
            #expect(second.agent.path == first.agent.path)
            #expect(fixture.sshd.log.components(separatedBy: "subsystem 'sftp'").count == sftpBefore)

            // A different binary has a different hash, so it is uploaded.
            let changed = fixture.stateDirectory + "/agent-changed"
            var bytes = ownBytes
            bytes.append(contentsOf: Array("trailing bytes change the hash".utf8))
            FileManager.default.createFile(atPath: changed, contents: bytes, attributes: [.posixPermissions: 0o755])
            let third = try await fixture.start(agentBinary: changed)
            #expect(third.agent.uploaded)
            #expect(third.agent.path != first.agent.path)

            // A damaged file under the right name (wrong size) is replaced. The
            // running agents keep the old inode, so replace it by rename.
            let remote = fixture.sshd.home + "/" + first.agent.path
            FileManager.default.createFile(atPath: remote + ".damaged", contents: Data(count: 1000), attributes: [.posixPermissions: 0o755])
            #expect(rename(remote + ".damaged", remote) == 0)
            let fourth = try await fixture.start(agentBinary: own)
            #expect(fourth.agent.uploaded)
            try await fourth.openClient().ping()

            // Issue 12: a file of the right size but other content (here a
            // script that would leave a mark) is caught by its SHA-256 before
            // it runs, and replaced. A live agent of this hash would be attached
            // to (issue 13) without running the file at all: end it first.
            let live = pid_t(fourth.agent.pid)
            kill(live, SIGTERM)
            #expect(await eventually(within: 30) { kill(live, 0) != 0 }, "the agent did not end")
            let marker = fixture.sshd.home + "/ran-tampered-agent"
            var tampered = Array("#!/bin/sh\ntouch \"\(marker)\"\nexit 0\n".utf8)
            tampered += [UInt8](repeating: 0x23, count: ownBytes.count - tampered.count)
            FileManager.default.createFile(atPath: remote + ".tampered", contents: Data(tampered), attributes: [.posixPermissions: 0o755])
            #expect(rename(remote + ".tampered", remote) == 0)
            let fifth = try await fixture.start(agentBinary: own)
            #expect(fifth.agent.uploaded)
            #expect(!FileManager.default.fileExists(atPath: marker), "the tampered file was run")
            #expect(try Data(contentsOf: URL(fileURLWithPath: remote)) == ownBytes)
            try await fifth.openClient().ping()
            let digest = String(first.agent.path.dropFirst(".cache/automation/agent-".count))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.remoteCache)
                .filter { $0.hasSuffix(".tmp") && ($0.contains(digest) || $0.contains(String(third.agent.path.suffix(64)))) }
            #expect(leftovers.isEmpty)
        }
    }

    @Test(.requires(.sshd)) func sixtyFourConcurrentExecsShareOneConnection() async throws {
        try SSHDFixture.require()
        try await AgentHostFixture.with { fixture in
            let host = try await fixture.start()
            let client = try await host.openClient()
            let outputs = try await withThrowingTaskGroup(of: (Int, String, Int32?).self) { group in
                for i in 0..<64 {
                    group.addTask {
                        let (result, stdout, _) = try await client.run(ExecParams(argv: ["/bin/sh", "-c", "sleep 0.2; echo $0", "\(i)"]))
                        return (i, String(decoding: stdout, as: UTF8.self), result.exitCode)
                    }
                }
                var all: [(Int, String, Int32?)] = []
                for try await output in group { all.append(output) }
                return all
            }
            #expect(outputs.count == 64)
            for (i, stdout, status) in outputs {
                #expect(stdout == "\(i)\n")
                #expect(status == 0)
            }
            let log = fixture.sshd.log
            #expect(log.components(separatedBy: "Accepted publickey").count - 1 == 1)
            #expect(fixture.sshd.execRequestCount == 1)
        }
    }

    @Test(.requires(.sshd)) func hundredPingsCauseNoSSHExecBeyondTheAgentStart() async throws {
        try SSHDFixture.require()
        try await AgentHostFixture.with { fixture in
            let host = try await fixture.start()
            #expect(fixture.sshd.execRequestCount == 1)
            // Several sessions, each its own direct-tcpip channel on the one connection.
            for _ in 0..<3 {
                let client = try await host.openClient()
                for _ in 0..<100 { try await client.ping() }
                client.close()
            }
            let log = fixture.sshd.log
            #expect(fixture.sshd.execRequestCount == 1)
            #expect(log.components(separatedBy: "Accepted publickey").count - 1 == 1)
            #expect(log.contains("direct-tcpip"))
        }
    }

    @Test(.requires(.sshd)) func killingTheSSHConnectionFailsPendingAgentRequestsWithATransportError() async throws {
        try SSHDFixture.require()
        try await AgentHostFixture.with { fixture in
            let host = try await fixture.start()
            let client = try await host.openClient()
            try await client.ping()
            let pending = Task { try await client.run(ExecParams(argv: ["/bin/sleep", "30"])) }
            try await Task.sleep(for: .milliseconds(300))
            let killedAt = ContinuousClock.now
            for pid in try fixture.sshd.connectionPids() { kill(pid, SIGKILL) }
            do {
                _ = try await pending.value
                Issue.record("the pending exec should have failed")
            } catch let error as AgentClientError {
                #expect(error.kind == .transport)
            }
            #expect(ContinuousClock.now - killedAt < .seconds(30), "promptly, not after TCP_USER_TIMEOUT (45 s) or never")
            await #expect(throws: AgentClientError.self) { try await client.ping() }
            await #expect(throws: (any Error).self) { _ = try await host.openClient() }
        }
    }

    @Test(.requires(.sshd)) func cliExecAndPingRunThroughAnSSHTarget() async throws {
        try SSHDFixture.require()
        try await AgentHostFixture.with { fixture in
            let sshd = fixture.sshd
            let automation = try BuiltProducts.automation()
            let common = ["--target", "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)", "--identity", sshd.clientKey,
                          "--state-path", fixture.stateDirectory, "--agent-idle-timeout", "15"]
            // Strict known hosts: the first attempt is refused, --accept-new-host-key records the key.
            let refused = try CLI.run([automation, "exec"] + common + ["--", "echo", "hi"])
            #expect(refused.status == 255)
            #expect(refused.stderr.contains(try sshd.hostKeyFingerprint()))
            let exec = try CLI.run([automation, "exec"] + common + ["--accept-new-host-key", "--", "/bin/sh", "-c", "echo hi; exit 7"])
            #expect(exec.stdout == "hi\n")
            #expect(exec.status == 7)
            let ping = try CLI.run([automation, "ping", "--count", "20"] + common)
            #expect(ping.status == 0)
            #expect(ping.stdout.contains("20 pings"))
            let pinned = try CLI.run([automation, "exec", "--target", "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)", "--identity", sshd.clientKey,
                                      "--state-path", fixture.stateDirectory + "-empty", "--host-key", try sshd.hostKeyFingerprint(), "--", "true"])
            #expect(pinned.status == 0)
            try? FileManager.default.removeItem(atPath: fixture.stateDirectory + "-empty")
            let rsaOnly = try CLI.run([automation, "exec", "--target", "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)", "--identity", sshd.rsaKey,
                                       "--state-path", fixture.stateDirectory, "--", "true"])
            #expect(rsaOnly.status == 255)
            #expect(rsaOnly.stderr.contains("ed25519"))
        }
    }
}

/// Runs an executable and captures its output.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        environment["SSH_AUTH_SOCK"] = nil
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}
