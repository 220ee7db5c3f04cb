import AgentProtocol
import AutomationKit
import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport

/// Issue 21, finding 4: the agent's memory stays bounded whatever the
/// controller does not read. Measured on the real agent binary through
/// /proc/PID/status (VmHWM: the high-water mark of its resident memory).
@Suite("the agent's memory is bounded for every operation", .timeLimit(.minutes(10)))
struct ReplyMemoryTests {
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Kills the agent and fails rather than letting a regression eat the machine.
    static let runawayKiB = 512 * 1024

    @Test("10,000 pipelined 1 MiB fs.read whose replies are not read: under 64 MB, then every reply arrives")
    func pipelinedReads() async throws {
        let dir = NSTemporaryDirectory() + "reply-memory-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/big"
        try Data(repeating: 0x5a, count: 1 << 20).write(to: URL(fileURLWithPath: file))

        let agent = try RawAgent()
        _ = try #require(agent.hello())
        let pid = agent.process.processIdentifier
        let count = 10_000
        // The writer blocks once the agent stops reading (the point of the
        // test), so it runs on a thread of its own and reports its progress.
        let written = Counter()
        nonisolated(unsafe) let input = agent
        let writer = Thread {
            for id in 1...count {
                guard input.write(line: #"{"type":"request","id":\#(id),"op":"fs.read","params":{"path":"\#(file)","length":1048576}}"#) else { return }
                written.value.store(id, ordering: .relaxed)
            }
        }
        writer.start()

        // Wait until the agent has stopped taking requests (the writer makes
        // no progress for two seconds) or has taken them all.
        var peak = 0
        var last = -1, still = 0
        for _ in 0..<1200 {
            try await Task.sleep(for: .milliseconds(100))
            let memory = try #require(AgentHarness.memory(pid: pid), "the agent is gone")
            peak = max(peak, memory.peak)
            if memory.current > Self.runawayKiB {
                kill(pid, SIGKILL)
                Issue.record("the agent grew past \(Self.runawayKiB / 1024) MiB holding replies nobody reads")
                return
            }
            let now = written.value.load(ordering: .relaxed)
            still = now == last ? still + 1 : 0
            last = now
            if still >= 20 { break }
        }
        let heldAt = written.value.load(ordering: .relaxed)
        #expect(heldAt < count, "the agent read every request without its replies being read")
        #expect(peak < 64 * 1024, "VmHWM \(peak) KiB while replies were held back")

        // Now read everything: nothing may have been lost.
        var seen = Set<Int>()
        var short: [String] = []
        _ = agent.scanLines { bytes, length in
            let head = String(decoding: bytes, as: UTF8.self)
            guard head.hasPrefix(#"{"type":"reply","id":"#) else { return true }
            let idText = head.dropFirst(#"{"type":"reply","id":"#.count).prefix { $0.isNumber }
            guard let id = Int(idText) else { return true }
            if length < 1_300_000 { short.append("\(length) bytes: \(head)") }
            seen.insert(id)
            return seen.count < count
        }
        #expect(short.isEmpty, "replies without their megabyte: \(short.prefix(3))")
        #expect(seen.count == count, "\(count - seen.count) replies never arrived")
        let memory = try #require(AgentHarness.memory(pid: pid))
        #expect(memory.peak < 64 * 1024, "VmHWM \(memory.peak) KiB")
        // For docs/benchmarks.md.
        print("ReplyMemoryTests: 10,000 x 1 MiB fs.read: agent VmHWM \(peak) KiB while held back (after \(heldAt) requests were written), \(memory.peak) KiB after every reply was read")
        #expect(agent.request(UInt64(count + 1), "ping", "{}")?["op"] as? String == "ping")
    }

    @Test("64 partial 4 MiB hellos: the listener stays under 128 MB and a real client gets in once they close")
    func partialHellos() async throws {
        let server = try ListenerTests.Server()
        let pid = server.process.processIdentifier
        let chunk = [UInt8](repeating: 0x7b, count: 64 * 1024)
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        for _ in 0..<64 {
            let fd = try TCPTransport.connectSocket(port: server.port)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            sockets.append(fd)
        }
        // Each sends 4 MiB without a newline, as far as the agent takes it.
        var sent = [Int](repeating: 0, count: sockets.count)
        var done = [Bool](repeating: false, count: sockets.count)
        for _ in 0..<3000 where done.contains(false) {
            var progress = false
            for (i, fd) in sockets.enumerated() where !done[i] {
                let n = chunk.withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, 4 * 1024 * 1024 - sent[i]), Int32(MSG_NOSIGNAL)) }
                if n > 0 {
                    sent[i] += n
                    progress = true
                    if sent[i] >= 4 * 1024 * 1024 { done[i] = true }
                } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                    done[i] = true
                }
            }
            let memory = try #require(AgentHarness.memory(pid: pid), "the agent is gone")
            if memory.current > Self.runawayKiB {
                server.process.terminate()
                Issue.record("the listener grew past \(Self.runawayKiB / 1024) MiB")
                return
            }
            if !progress { try await Task.sleep(for: .milliseconds(20)) }
        }
        let memory = try #require(AgentHarness.memory(pid: pid), "the agent is gone")
        #expect(memory.peak < 128 * 1024, "VmHWM \(memory.peak) KiB after \(sent.reduce(0, +) >> 20) MiB of partial hellos")
        print("ReplyMemoryTests: 64 partial 4 MiB hellos: listener VmHWM \(memory.peak) KiB after \(sent.reduce(0, +) >> 10) KiB taken")
        #expect(server.process.isRunning)
        for fd in sockets { close(fd) }
        sockets.removeAll()
        let admitted = await eventually(within: 60) {
            guard let client = try? await server.connect(token: server.token) else { return false }
            defer { client.close() }
            return (try? await client.ping()) != nil
        }
        #expect(admitted, "no legitimate client got in after the partial hellos closed")
    }
}
