import AgentProtocol
import AutomationKit
import Foundation
import Glibc
import Testing
import TestSupport

/// Resumable sessions (docs/protocol.md, "Reconnect and resume"), driven
/// line by line over real TCP connections to `automation-agent serve`.
@Suite("resume: a session outlives its connection", .timeLimit(.minutes(5)))
struct ResumeTests {
    typealias Server = ListenerTests.Server

    /// A private spill directory, removed afterwards.
    final class Scratch {
        let path: String
        init() throws {
            path = NSTemporaryDirectory() + "resume-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            chmod(path, 0o700)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var spill: String { path + "/spill" }
    }

    func exec(_ connection: RawConnection, id: UInt64, _ script: String) {
        let argv = try! String(decoding: JSONSerialization.data(withJSONObject: ["/bin/sh", "-c", script]), as: UTF8.self)
        connection.send(#"{"type":"request","id":\#(id),"op":"exec","params":{"argv":\#(argv)}}"#)
    }

    func session(_ hello: [String: Any]?) throws -> String {
        try #require(hello?["type"] as? String == "hello", "no hello: \(String(describing: hello))")
        return try #require(hello?["session"] as? String)
    }

    @Test("a resume gets everything after its ack again, byte for byte, and nothing before it")
    func replayFromAck() async throws {
        let server = try Server(extra: ["--grace", "600"])
        let first = try RawConnection(port: server.port)
        let hello = await first.hello(token: server.token)
        let id = try session(hello)
        #expect((hello?["graceMs"] as? NSNumber)?.intValue == 600_000)
        exec(first, id: 1, "for i in 1 2 3 4 5; do echo line $i; done; echo err >&2")
        let lines = await first.lines(untilReplyTo: 1)
        let seqs = lines.compactMap(\.seq)
        try #require(seqs.count == lines.count && seqs.count >= 3, "\(lines.map { String(decoding: $0, as: UTF8.self) })")
        #expect(seqs == Array(1...UInt64(seqs.count)))
        let ack = seqs[0]
        first.send(#"{"type":"ack","seq":\#(ack)}"#)
        first.drop()

        let second = try RawConnection(port: server.port)
        let resumed = await second.hello(token: server.token, resume: (id, ack))
        #expect(try session(resumed) == id)
        let info = try #require(resumed?["resumed"] as? [String: Any])
        #expect((info["from"] as? NSNumber)?.uint64Value == ack + 1)
        #expect((info["received"] as? NSNumber)?.uint64Value == 1)
        let replayed = await second.lines(untilReplyTo: 1)
        #expect(replayed == Array(lines.dropFirst()))
        second.send(#"{"type":"request","id":2,"op":"ping"}"#)
        let pong = try #require(await second.receive())
        #expect(pong.id == 2)
        #expect((pong["seq"] as? NSNumber)?.uint64Value == seqs.last! + 1)
        second.send(#"{"type":"bye"}"#)
    }

    @Test("while the controller is away the command runs on; output beyond the memory bound spills to disk and comes back in order")
    func spillWhileDetached() async throws {
        let scratch = try Scratch()
        let server = try Server(extra: ["--grace", "600", "--replay-memory", "65536", "--spill-dir", scratch.spill])
        let first = try RawConnection(port: server.port)
        let id = try session(await first.hello(token: server.token))
        let go = scratch.path + "/go", done = scratch.path + "/done"
        // 3 MiB of numbered lines, written only once the connection is gone.
        exec(first, id: 1, "while [ ! -e \(go) ]; do sleep 0.05; done; seq 1 400000; touch \(done)")
        first.send(#"{"type":"request","id":2,"op":"ping"}"#)
        let before = await first.lines(untilReplyTo: 2)
        let ack = try #require(before.last?.seq)
        first.send(#"{"type":"ack","seq":\#(ack)}"#)
        first.drop()
        FileManager.default.createFile(atPath: go, contents: nil)
        #expect(await eventually(within: 300) { FileManager.default.fileExists(atPath: done) },
                "the command did not run to its end while its controller was away")
        let spillFile = scratch.spill + "/spill-" + id
        let spilled = (try? FileManager.default.attributesOfItem(atPath: spillFile)[.size] as? Int) ?? 0
        #expect(spilled > 2_000_000, "spill file \(spillFile): \(spilled) bytes")

        let second = try RawConnection(port: server.port)
        _ = try session(await second.hello(token: server.token, resume: (id, ack)))
        var output: [UInt8] = []
        var expected = ack + 1
        var exitCode: Int?
        for line in await second.lines(untilReplyTo: 1) {
            #expect(line.seq == expected)
            expected += 1
            let message = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            if let body = message["body"] as? [String: Any], let data = body["data"] as? String {
                output += Data(base64Encoded: data)!
            }
            if let result = message["result"] as? [String: Any] { exitCode = (result["exitCode"] as? NSNumber)?.intValue }
        }
        #expect(exitCode == 0)
        let numbers = String(decoding: output, as: UTF8.self).split(separator: "\n")
        #expect(numbers.count == 400_000)
        #expect(numbers.first == "1" && numbers.last == "400000")
        #expect(numbers == (1...400_000).map { Substring(String($0)) })
        second.send(#"{"type":"ack","seq":\#(expected - 1)}"#)
        second.send(#"{"type":"bye"}"#)
        #expect(await eventually(within: 10) { !FileManager.default.fileExists(atPath: spillFile) },
                "the spill file outlived its session")
    }

    @Test("past the grace period the session's processes are killed, its scratch directory removed, and a resume is told why")
    func graceExpiry() async throws {
        let scratch = try Scratch()
        let server = try Server(extra: ["--grace", "1"])
        let first = try RawConnection(port: server.port)
        let id = try session(await first.hello(token: server.token))
        let pidFile = scratch.path + "/pid"
        let work = scratch.path + "/run/slot-1"
        first.send(#"{"type":"request","id":2,"op":"fs.mkdir","params":{"path":"\#(scratch.path)/run","scratch":true}}"#)
        first.send(#"{"type":"request","id":3,"op":"fs.mkdir","params":{"path":"\#(work)"}}"#)
        let made = await first.lines(untilReplyTo: 3)  // file operations run in order, execs at once
        #expect(made.allSatisfy { !String(decoding: $0, as: UTF8.self).contains("error") }, "\(made.map { String(decoding: $0, as: UTF8.self) })")
        exec(first, id: 1, "echo data > \(work)/file; echo $$ > \(pidFile); exec sleep 1000")
        #expect(await eventually(within: 10) { (try? String(contentsOfFile: pidFile, encoding: .utf8))?.hasSuffix("\n") == true })
        let pid = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(AgentHarness.isAlive(pid))
        #expect(FileManager.default.fileExists(atPath: work + "/file"))
        first.drop()
        #expect(await eventually(within: 30) { !AgentHarness.isAlive(pid) }, "the session's process outlived the grace period")
        #expect(await eventually(within: 10) { !FileManager.default.fileExists(atPath: scratch.path + "/run") },
                "the session's scratch directory outlived it")
        #expect(FileManager.default.fileExists(atPath: pidFile), "more than the scratch directory was removed")

        let second = try RawConnection(port: server.port)
        let refusal = await second.hello(token: server.token, resume: (id, 0))
        #expect(refusal?.errorCode == "resume_failed")
        let message = (refusal?["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("no controller came back"), "\(message)")
        #expect(await second.closedByPeer(), "a refused resume keeps its connection")
    }

    @Test("a request sent again after a resume runs once; later ids run as usual")
    func duplicateRequestAfterResume() async throws {
        let scratch = try Scratch()
        let server = try Server(extra: ["--grace", "600"])
        let first = try RawConnection(port: server.port)
        let id = try session(await first.hello(token: server.token))
        let log = scratch.path + "/log"
        exec(first, id: 5, "echo ran >> \(log)")
        let lines = await first.lines(untilReplyTo: 5)
        first.drop()

        let second = try RawConnection(port: server.port)
        let resumed = await second.hello(token: server.token, resume: (id, 0))
        #expect(((resumed?["resumed"] as? [String: Any])?["received"] as? NSNumber)?.uint64Value == 5)
        #expect(await second.lines(untilReplyTo: 5) == lines)
        exec(second, id: 5, "echo ran >> \(log)")  // the controller could not know it had arrived
        exec(second, id: 6, "echo ran >> \(log)")
        let after = await second.lines(untilReplyTo: 6)
        #expect(after.allSatisfy { $0.seq != nil && $0.seq! > lines.last!.seq! })
        #expect(!after.contains { String(decoding: $0, as: UTF8.self).contains(#""id":5"#) }, "request 5 was answered twice")
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "ran\nran\n")
        second.send(#"{"type":"bye"}"#)
    }

    @Test("unknown sessions, impossible acks, stdio and bye are refused with their own codes")
    func refusals() async throws {
        let server = try Server(extra: ["--grace", "600"])
        let unknown = try RawConnection(port: server.port)
        #expect(await unknown.hello(token: server.token, resume: (String(repeating: "0", count: 32), 0))?.errorCode == "unknown_session")

        let wrongToken = try RawConnection(port: server.port)
        wrongToken.send(#"{"type":"hello","version":\#(ProtocolConstants.version),"client":"t","token":"x","resume":{"session":"ab","ack":0}}"#)
        #expect(await wrongToken.receive()?.errorCode == "auth_failed")

        let first = try RawConnection(port: server.port)
        let id = try session(await first.hello(token: server.token))
        first.send(#"{"type":"request","id":1,"op":"ping"}"#)
        _ = await first.lines(untilReplyTo: 1)
        first.drop()
        let beyond = try RawConnection(port: server.port)
        #expect(await beyond.hello(token: server.token, resume: (id, 99))?.errorCode == "resume_failed")
        // The session is still there for a correct resume, which supersedes a live connection too.
        let good = try RawConnection(port: server.port)
        _ = try session(await good.hello(token: server.token, resume: (id, 1)))
        let thief = try RawConnection(port: server.port)
        _ = try session(await thief.hello(token: server.token, resume: (id, 1)))
        #expect(await good.closedByPeer(), "the superseded connection stays open")
        thief.send(#"{"type":"bye"}"#)
        #expect(await thief.closedByPeer())
        let late = try RawConnection(port: server.port)
        let ended = await late.hello(token: server.token, resume: (id, 1))
        #expect(ended?.errorCode == "resume_failed")
        #expect(((ended?["error"] as? [String: Any])?["message"] as? String)?.contains("the controller ended it") == true)

        let stdio = try RawAgent()
        stdio.send(#"{"type":"hello","version":\#(ProtocolConstants.version),"client":"t","resume":{"session":"\#(id)","ack":0}}"#)
        #expect(stdio.receive()?.errorCode == "resume_failed")
    }

    @Test("a session that did not ask to be resumable ends with its connection, as before")
    func notResumable() async throws {
        let scratch = try Scratch()
        let server = try Server(extra: ["--grace", "600"])
        let first = try RawConnection(port: server.port)
        first.send(#"{"type":"hello","version":\#(ProtocolConstants.version),"client":"t","token":"\#(server.token)"}"#)
        let hello = try #require(await first.receive())
        #expect(hello["graceMs"] == nil)
        let id = try session(hello)
        let pidFile = scratch.path + "/pid"
        exec(first, id: 1, "echo $$ > \(pidFile); exec sleep 1000")
        #expect(await eventually(within: 10) { (try? String(contentsOfFile: pidFile, encoding: .utf8))?.hasSuffix("\n") == true })
        let pid = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        first.drop()
        #expect(await eventually(within: 10) { !AgentHarness.isAlive(pid) })
        let second = try RawConnection(port: server.port)
        #expect(await second.hello(token: server.token, resume: (id, 0))?.errorCode == "unknown_session")
    }
}
