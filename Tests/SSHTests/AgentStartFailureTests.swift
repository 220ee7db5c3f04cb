@testable import AutomationKit
import Foundation
import Logging
import SSH
import Testing
import TestSupport

/// An agent that cannot run on the host is reported at once, with the loader's or the
/// shell's message and what to do; a dynamically linked one is never uploaded.
@Suite("an agent that cannot start on an SSH host", .serialized)
struct AgentStartFailureTests {
    /// A copy of the static agent whose ELF header names aarch64 (e_machine 183): the
    /// kernel refuses to execute it here with ENOEXEC. Unique bytes give it a hash of its own.
    static func wrongMachineAgent(in directory: String) throws -> String {
        let agent = try BuiltProducts.agent()
        try #require(try AgentBinary.elfInfo(atPath: agent)?.interpreter == nil,
                     "\(agent) is dynamically linked: set AUTOMATION_AGENT_BINARY to the static agent (deploy/build-agent.sh), as test.sh does")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: agent))
        try #require(bytes.count > 64 && bytes[18] == 62 && bytes[19] == 0, "the test agent is expected to be an x86_64 ELF")
        bytes[18] = 183
        bytes.append(contentsOf: Array(UUID().uuidString.utf8))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/agent-aarch64"
        FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o755])
        return path
    }

    @Test("a wrong-architecture agent: the start fails with the shell's message and both architectures named",
          .requires(.sshd))
    func wrongArchitecture() async throws {
        try SSHDFixture.require()
        try await AgentHostFixture.with { fixture in
            let agent = try Self.wrongMachineAgent(in: fixture.stateDirectory)
            defer { Self.removeUploaded(fixture) }
            let error = await #expect(throws: AgentStartError.self) { _ = try await fixture.start(agentBinary: agent) }
            let message = error?.message ?? ""
            #expect(message.contains("the agent did not start (exit status 126)"), "\(message)")
            #expect(message.contains("Exec format error"), "the loader's (shell's) own words: \(message)")
            #expect(message.contains("The host is x86_64 and \(agent) is built for aarch64"), "\(message)")
        }
    }

    @Test("a dynamically linked agent is refused before it is uploaded",
          .requires(.sshd))
    func dynamicAgentIsNotUploaded() async throws {
        try SSHDFixture.require()
        try await AgentHostFixture.with { fixture in
            // The swift build agent beside the test bundle's automation.
            let dynamic = URL(fileURLWithPath: try BuiltProducts.automation()).deletingLastPathComponent()
                .appendingPathComponent("automation-agent").path
            let sftpBefore = fixture.sshd.log.components(separatedBy: "subsystem 'sftp'").count
            let error = await #expect(throws: UsageError.self) { _ = try await fixture.start(agentBinary: dynamic) }
            #expect(error?.message.contains("\(dynamic) is dynamically linked") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("deploy/build-agent.sh") == true, "\(error?.message ?? "")")
            #expect(fixture.sshd.log.components(separatedBy: "subsystem 'sftp'").count == sftpBefore, "nothing was uploaded")
        }
    }

    /// The wrong-machine agents this suite uploaded (each a few MB) go with it.
    static func removeUploaded(_ fixture: AgentHostFixture) {
        let directory = fixture.sshd.home + "/.cache/automation"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix("agent-") && !name.hasSuffix(".state") && !name.hasSuffix(".log") {
            let path = directory + "/" + name
            if let handle = FileHandle(forReadingAtPath: path), let head = try? handle.read(upToCount: 20), head.count == 20, head[18] == 183 {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }
}
