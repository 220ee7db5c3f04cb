import AgentProtocol
import AutomationKit
import Foundation
import Glibc
import Testing

/// Issue 12: `AgentClient.write` blocked a cooperative-pool thread while the
/// transport was full (on 2 cores the pool has 2 threads), so one stalled
/// agent could stall every task in the controller.
@Suite("a stalled agent never stalls the controller's other tasks", .timeLimit(.minutes(5)))
struct StalledTransportTests {
    @Test("writes to a stopped agent wait off the pool; other tasks go on; all finish once it resumes")
    func stoppedAgent() async throws {
        let agent = try await AgentHarness.connect()
        defer { agent.close() }
        let pid = agent.agentHello.pid
        let directory = NSTemporaryDirectory() + "stalled-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(kill(pid, SIGSTOP) == 0)
        var resumed = false
        defer { if !resumed { kill(pid, SIGCONT) } }
        // Far more than a pipe holds, from more tasks than the pool has threads.
        let payload = [UInt8](repeating: 0x41, count: 512 * 1024)
        let writers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<16 {
                    group.addTask { try await agent.write("\(directory)/f\(i)", data: payload) }
                }
                try await group.waitForAll()
            }
        }
        // Unrelated work on the pool must still run while all of that waits.
        let others = await withTaskGroup(of: Int.self) { group in
            for i in 0..<8 {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(50))
                    return i
                }
            }
            return await group.reduce(0, +)
        }
        #expect(others == 28)
        kill(pid, SIGCONT)
        resumed = true
        try await writers.value
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 16)
    }
}
