import AgentProtocol
import AutomationKit
import Foundation
import Testing

/// Issue 12: exec stdin was capped at 3 MiB with no streaming, and a stdin
/// just under the cap failed with `too_large` (the envelope was not counted).
/// Now stdin of any size streams with `exec.stdin`, flow-controlled.
@Suite("exec stdin streams, any size, flow-controlled", .timeLimit(.minutes(5)))
struct ExecStdinTests {
    static func bytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    @Test("stdin just under the old cap, and far beyond it, arrives whole", arguments: [3_145_700, 3_145_728, 20 * 1024 * 1024 + 3])
    func anySize(count: Int) async throws {
        let input = Self.bytes(count)
        let run = try await AgentHarness.withAgent { agent in
            try await agent.run(ExecParams(argv: ["wc", "-c"], stdin: input))
        }
        #expect(run.result.exitCode == 0)
        #expect(text(run.stdout).trimmingCharacters(in: .whitespacesAndNewlines) == String(count))
    }

    @Test("written chunk by chunk while the output streams back, byte for byte")
    func streamedRoundTrip() async throws {
        let input = Self.bytes(6 * 1024 * 1024 + 17)
        try await AgentHarness.withAgent { agent in
            let call = try agent.exec(ExecParams(argv: ["cat"], stdinStream: true))
            let writer = Task {
                var offset = 0
                while offset < input.count {
                    let end = min(input.count, offset + 300_000)
                    #expect(try await call.writeStdin([UInt8](input[offset..<end])))
                    offset = end
                }
                try await call.closeStdin()
            }
            var output: [UInt8] = []
            for try await chunk in call { output += chunk.data }
            try await writer.value
            #expect(try await call.result().exitCode == 0)
            // Not `output == input`: on a mismatch Swift Testing diffs the two 6 MiB arrays,
            // which holds a cooperative thread for many minutes and stalls every other test.
            #expect(output.count == input.count, "got \(output.count) bytes of \(input.count)")
            let firstDifference = zip(output, input).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(firstDifference == nil, "first differing byte at offset \(firstDifference ?? -1)")
        }
    }

    @Test("a process that closes its stdin early tells the writer to stop")
    func closedEarly() async throws {
        try await AgentHarness.withAgent { agent in
            let call = try agent.exec(ExecParams(argv: ["head", "-c", "10"], stdinStream: true))
            var stillOpen = true, sent = 0
            while stillOpen && sent < 64 * 1024 * 1024 {
                stillOpen = try await call.writeStdin([UInt8](repeating: 0x61, count: 1 << 20))
                sent += 1 << 20
            }
            #expect(!stillOpen, "the writer was never told that head closed its stdin")
            var output: [UInt8] = []
            for try await chunk in call { output += chunk.data }
            #expect(output == [UInt8](repeating: 0x61, count: 10))
            #expect(try await call.result().exitCode == 0)
        }
    }

    @Test("a client that does not wait for replies gets too_large, not a growing agent; bad targets are refused")
    func boundedQueueAndBadTargets() throws {
        let agent = try RawAgent()
        _ = agent.hello()
        agent.send(#"{"type":"request","id":1,"op":"exec","params":{"argv":["sleep","60"],"stdinStream":true}}"#)
        let chunk = Data(repeating: 0x62, count: 1 << 20).base64EncodedString()
        for id in 2...7 {
            agent.send(#"{"type":"request","id":\#(id),"op":"exec.stdin","params":{"target":1,"data":"\#(chunk)"}}"#)
        }
        let refusal = try #require(agent.reply())
        #expect(refusal.errorCode == "too_large" && (refusal.id ?? 0) >= 5, "\(refusal)")
        agent.send(#"{"type":"request","id":20,"op":"exec","params":{"argv":["true"]}}"#)
        agent.send(#"{"type":"request","id":21,"op":"exec","params":{"argv":["sleep","60"]}}"#)
        agent.send(#"{"type":"request","id":22,"op":"exec.stdin","params":{"target":21,"data":"YQ=="}}"#)
        agent.send(#"{"type":"request","id":23,"op":"exec.stdin","params":{"target":999,"eof":true}}"#)
        let tooBig = Data(repeating: 0, count: (1 << 20) + 1).base64EncodedString()
        agent.send(#"{"type":"request","id":24,"op":"exec.stdin","params":{"target":1,"data":"\#(tooBig)"}}"#)
        var codes: [UInt64: String] = [:]
        while codes.count < 3, let reply = agent.reply() {
            if let id = reply.id, id >= 22, let code = reply.errorCode { codes[id] = code }
        }
        #expect(codes == [22: "invalid_field", 23: "no_such_request", 24: "too_large"])
        agent.send(#"{"type":"request","id":30,"op":"cancel","params":{"target":1,"signal":9}}"#)
        agent.send(#"{"type":"request","id":31,"op":"cancel","params":{"target":21,"signal":9}}"#)
        // The queued chunks are answered (closed) before the exec's own reply.
        var seen = Set<UInt64>()
        while !seen.isSuperset(of: [1, 21]), let reply = agent.reply() {
            if let id = reply.id { seen.insert(id) }
        }
        #expect(seen.isSuperset(of: [1, 2, 3, 4, 21]), "\(seen.sorted())")
        #expect(agent.process.isRunning)
    }
}
