@testable import AutomationKit
import Foundation
import Testing
import TestSupport

/// An aws:N instance whose agent cannot run: the run stops as soon as the agent's start
/// fails, with the loader's message, instead of retrying until --boot-timeout.
@Suite("run-tests on aws:N: an agent that cannot start (simulated cloud)", .serialized, .timeLimit(.minutes(15)),
       .requires(TestCloudFixture.requirement))
struct CloudAgentStartTests {
    @Test("a wrong-architecture agent ends the connect at once with the loader's message; --boot-timeout 2h is not waited out")
    func wrongArchitectureAgentFailsFast() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        // The static agent with an aarch64 ELF header: it uploads, and the kernel refuses to run it.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: try BuiltProducts.agent()))
        try #require(bytes.count > 64 && bytes[18] == 62, "the test agent is expected to be an x86_64 ELF")
        bytes[18] = 183
        let agent = harness.scratch.appendingPathComponent("agent-aarch64").path
        FileManager.default.createFile(atPath: agent, contents: bytes, attributes: [.posixPermissions: 0o755])
        try await TestCloudFixture.with { cloud in
            let run = try harness.start(CloudRunTests.suite() + ["--target", "aws:1:t3.micro", "--boot-timeout", "2h", "--agent-binary", agent],
                                        env: cloud.environment)
            // Bounded far below the 2 h boot timeout: the old controller retried until it, and is killed here.
            let outcome = try await run.wait(hangGuard: 600)
            #expect(outcome.status == ExitCodes.infrastructure, "\(outcome.stderr)\n\(cloud.log)")
            #expect(outcome.stderr.contains("the agent did not start (exit status 126)"), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("Exec format error"), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("is built for aarch64"), "\(outcome.stderr)")
            #expect(!outcome.stderr.contains("did not accept SSH within"), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("terminated 1 instances"), "\(outcome.stderr)")
            try await CloudRunTests().expectNothingLeft(cloud, harness, "after an agent that could not start")
        }
    }
}
