@testable import AgentCore
import Foundation
import Glibc
import Testing

/// The agent's record of what it owes the controller, driven directly:
/// lines kept until acknowledged, replayed after a disconnect, spilled to
/// disk beyond the memory bound.
@Suite("OutputQueue: keep, replay, spill")
struct OutputQueueTests {
    /// A pipe the queue writes to and the test reads back.
    final class Sink {
        let read: Int32, write: Int32
        init() {
            var fds: [Int32] = [0, 0]
            precondition(pipe(&fds) == 0)
            (read, write) = (fds[0], fds[1])
            _ = fcntl(read, F_SETFL, O_NONBLOCK)
        }
        deinit {
            close(read)
            close(write)
        }
        func drain() -> [String] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = Glibc.read(read, &chunk, chunk.count)
                if n <= 0 { break }
                bytes += chunk[..<n]
            }
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        }
    }

    func line(_ seq: UInt64, size: Int = 20) -> [UInt8] {
        let text = "seq \(seq) " + String(repeating: "x", count: max(0, size - 8))
        return Array(text.utf8) + [0x0A]
    }

    func names(_ lines: [String]) -> [String] { lines.map { String($0.split(separator: " ")[1]) } }

    @Test("a disconnect replays from the first unacknowledged line; acknowledged ones never come back")
    func replay() throws {
        var queue = OutputQueue()
        queue.keepsSentLines = true
        let sink = Sink()
        try queue.append(Array("hello\n".utf8), seq: nil)
        for _ in 1...5 {
            let seq = queue.nextSeq()
            try queue.append(line(seq), seq: seq)
        }
        guard case .drained = queue.flush(to: sink.write) else { Issue.record("not drained"); return }
        #expect(sink.drain().count == 6)
        let acked2 = queue.ack(2)
        #expect(acked2)
        let acked6 = queue.ack(6)
        #expect(!acked6, "an ack of a seq never sent")
        let acked1 = queue.ack(1)
        #expect(acked1, "an older ack is harmless")
        queue.disconnect()
        #expect(queue.pendingBytes == 3 * line(3).count)
        _ = queue.flush(to: sink.write)
        #expect(names(sink.drain()) == ["3", "4", "5"])
        let acked5 = queue.ack(5)
        #expect(acked5)
        queue.disconnect()
        #expect(queue.pendingBytes == 0)
        #expect(queue.unackedBytes == 0)
    }

    @Test("beyond the memory bound lines go to the spill file, come back byte for byte, and the file empties once acknowledged")
    func spill() throws {
        let directory = NSTemporaryDirectory() + "spill-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var queue = OutputQueue()
        queue.memoryLimit = 100
        queue.spillDirectory = directory
        queue.sessionID = "abc"
        queue.keepsSentLines = true
        queue.spillLimit = 1000
        var sent: [[UInt8]] = []
        for _ in 1...40 {
            let seq = queue.nextSeq()
            sent.append(line(seq, size: 30))
            try queue.append(sent.last!, seq: seq)
        }
        let file = directory + "/spill-abc"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        #expect(size > 1000 - 100 && size <= 40 * 31, "spilled \(size) bytes")
        #expect(!queue.roomForOutput, "past the spill limit output must pause")
        #expect(((try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions]) as? Int) == 0o700)
        let sink = Sink()
        _ = queue.flush(to: sink.write)
        #expect(sink.drain() == sent.map { String(decoding: $0.dropLast(), as: UTF8.self) })
        let acked40 = queue.ack(40)
        #expect(acked40)
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) == 0)
        #expect(queue.roomForOutput)
        queue = OutputQueue()
        #expect(!FileManager.default.fileExists(atPath: file), "the spill file outlived its queue")
    }

    @Test("without resume, sent lines are let go at once: only their sizes count against the window until acknowledged")
    func releasedWhenSent() throws {
        var queue = OutputQueue()
        queue.memoryLimit = 100
        var total = 0
        for _ in 1...10 {
            let seq = queue.nextSeq()
            total += line(seq, size: 30).count
            try queue.append(line(seq, size: 30), seq: seq)
        }
        #expect(!queue.roomForOutput)
        let sink = Sink()
        guard case .drained = queue.flush(to: sink.write) else { Issue.record("not drained"); return }
        #expect(sink.drain().count == 10)
        #expect(queue.roomForOutput, "sent lines are still held in memory")
        #expect(queue.unackedBytes == total, "the window still counts them")
        let acked = queue.ack(10)
        #expect(acked)
        #expect(queue.unackedBytes == 0)
    }

    @Test("a controller that reads but never acknowledges: the record of sent lines stays bounded")
    func neverAcknowledged() throws {
        var queue = OutputQueue()
        queue.maxReleasedEntries = 100
        let sink = Sink()
        var received = 0
        for _ in 1...1000 {
            let seq = queue.nextSeq()
            try queue.append(line(seq), seq: seq)
            if seq % 50 == 0 {
                _ = queue.flush(to: sink.write)
                received += sink.drain().count
            }
        }
        #expect(received == 1000)
        #expect(queue.unackedEntries <= 100, "\(queue.unackedEntries) entries kept for a controller that never acknowledges")
        let kept = UInt64(1000 - queue.unackedEntries + 1)...1000
        #expect(queue.unackedBytes == kept.reduce(0) { $0 + line($1).count }, "the window counts exactly the lines still recorded")
        let old = queue.ack(5)
        #expect(old, "an ack of a forgotten seq is harmless")
        let last = queue.ack(1000)
        #expect(last)
        #expect(queue.unackedBytes == 0 && queue.unackedEntries == 0)
    }

    @Test("a spill directory another user could enter is refused: output stays in memory and pauses at the bound")
    func unsafeSpillDirectory() throws {
        let directory = NSTemporaryDirectory() + "spill-open-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o777)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var queue = OutputQueue()
        queue.memoryLimit = 100
        queue.spillDirectory = directory
        queue.sessionID = "s"
        var total = 0
        for _ in 1...10 {
            let seq = queue.nextSeq()
            total += line(seq, size: 30).count
            try queue.append(line(seq, size: 30), seq: seq)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        #expect(!queue.roomForOutput)
        #expect(queue.unackedBytes == total)
    }
}
