import AgentProtocol
import AutomationKit
import Foundation
import Testing

/// Malformed input of every kind: each gets its documented error code and the
/// agent keeps serving (docs/protocol.md, "Errors").
@Suite("bad input never kills the agent", .timeLimit(.minutes(5)))
struct BadInputTests {
    /// (what is sent, expected error code, expected id in the error reply)
    static let cases: [(String, [UInt8], String, UInt64?)] = [
        ("not JSON", Array("hello there".utf8), "bad_json", nil),
        ("truncated JSON", Array(#"{"type":"request","id":1,"op":"#.utf8), "bad_json", nil),
        ("trailing garbage", Array(#"{"type":"request","id":1,"op":"ping"} x"#.utf8), "bad_json", nil),
        ("JSON array", Array("[1,2,3]".utf8), "bad_message", nil),
        ("JSON string", Array(#""request""#.utf8), "bad_message", nil),
        ("JSON null", Array("null".utf8), "bad_message", nil),
        ("object without type", Array(#"{"id":1}"#.utf8), "bad_message", nil),
        ("unknown type", Array(#"{"type":"launch"}"#.utf8), "unknown_type", nil),
        ("request without id", Array(#"{"type":"request","op":"ping"}"#.utf8), "invalid_field", nil),
        ("negative id", Array(#"{"type":"request","id":-3,"op":"ping"}"#.utf8), "invalid_field", nil),
        ("fractional id", Array(#"{"type":"request","id":1.5,"op":"ping"}"#.utf8), "invalid_field", nil),
        ("unknown operation", Array(#"{"type":"request","id":11,"op":"format-disk"}"#.utf8), "unknown_op", 11),
        ("missing params", Array(#"{"type":"request","id":12,"op":"fs.stat"}"#.utf8), "missing_field", 12),
        ("missing argv", Array(#"{"type":"request","id":13,"op":"exec","params":{"cwd":"/"}}"#.utf8), "missing_field", 13),
        ("argv of wrong type", Array(#"{"type":"request","id":14,"op":"exec","params":{"argv":"rm -rf /"}}"#.utf8), "invalid_field", 14),
        ("empty argv", Array(#"{"type":"request","id":15,"op":"exec","params":{"argv":[]}}"#.utf8), "invalid_field", 15),
        ("bad base64 stdin", Array(#"{"type":"request","id":16,"op":"exec","params":{"argv":["cat"],"stdin":"%%%"}}"#.utf8), "invalid_field", 16),
        ("negative timeout", Array(#"{"type":"request","id":17,"op":"exec","params":{"argv":["true"],"timeoutMs":-5}}"#.utf8), "invalid_field", 17),
        ("relative path", Array(#"{"type":"request","id":18,"op":"fs.read","params":{"path":"etc/passwd"}}"#.utf8), "invalid_field", 18),
        ("NUL in path", Array(#"{"type":"request","id":19,"op":"fs.stat","params":{"path":"/tmp/\u0000x"}}"#.utf8), "invalid_field", 19),
        ("removing /", Array(#"{"type":"request","id":20,"op":"fs.remove","params":{"path":"/","recursive":true}}"#.utf8), "invalid_field", 20),
        ("mode out of range", Array(#"{"type":"request","id":21,"op":"fs.chmod","params":{"path":"/tmp","mode":99999}}"#.utf8), "invalid_field", 21),
        ("cancel of an unknown request", Array(#"{"type":"request","id":22,"op":"cancel","params":{"target":999}}"#.utf8), "no_such_request", 22),
        ("ack of a sequence never sent", Array(#"{"type":"ack","seq":1000000}"#.utf8), "invalid_field", nil),
        ("second hello", Array(#"{"type":"hello","version":\#(ProtocolConstants.version),"client":"again"}"#.utf8), "bad_message", nil),
        ("invalid UTF-8", Array(#"{"type":"request","id":1,"op":"ping","x":""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8), "bad_utf8", nil),
        ("oversized line", [UInt8](repeating: 0x61, count: 4 * 1024 * 1024 + 10), "line_too_long", nil),
        ("huge number", Array(#"{"type":"request","id":1e400,"op":"ping"}"#.utf8), "invalid_field", nil),
        // Issue 12: each of these crashed the agent (SIGILL) or lost the request's id.
        ("timeout that overflowed", Array(#"{"type":"request","id":30,"op":"exec","params":{"argv":["true"],"timeoutMs":18446743524994}}"#.utf8), "invalid_field", 30),
        ("timeout 1e13", Array(#"{"type":"request","id":31,"op":"exec","params":{"argv":["true"],"timeoutMs":10000000000000}}"#.utf8), "invalid_field", 31),
        ("kill grace that overflowed", Array(#"{"type":"request","id":32,"op":"exec","params":{"argv":["true"],"killGraceMs":18446744073710}}"#.utf8), "invalid_field", 32),
        ("cancel grace that overflowed", Array(#"{"type":"request","id":33,"op":"cancel","params":{"target":1,"killGraceMs":18446744073710}}"#.utf8), "invalid_field", 33),
        ("timeout 1e308", Array(#"{"type":"request","id":34,"op":"exec","params":{"argv":["true"],"timeoutMs":1e308}}"#.utf8), "invalid_field", 34),
        ("mode -1", Array(#"{"type":"request","id":35,"op":"fs.chmod","params":{"path":"/tmp","mode":-1}}"#.utf8), "invalid_field", 35),
        ("uid -1", Array(#"{"type":"request","id":36,"op":"fs.chown","params":{"path":"/tmp","uid":-1}}"#.utf8), "invalid_field", 36),
        ("ack seq -1", Array(#"{"type":"ack","seq":-1}"#.utf8), "invalid_field", nil),
        ("read offset near Int64.max", Array(#"{"type":"request","id":37,"op":"fs.read","params":{"path":"/etc/hostname","offset":9223372036854775807}}"#.utf8), "invalid_field", 37),
        ("removing /tmp/..", Array(#"{"type":"request","id":38,"op":"fs.remove","params":{"path":"/tmp/..","recursive":true}}"#.utf8), "invalid_field", 38),
        ("removing //", Array(#"{"type":"request","id":39,"op":"fs.remove","params":{"path":"//","recursive":true}}"#.utf8), "invalid_field", 39),
        ("removing /.", Array(#"{"type":"request","id":40,"op":"fs.remove","params":{"path":"/.","recursive":true}}"#.utf8), "invalid_field", 40),
        ("signal 0", Array(#"{"type":"request","id":41,"op":"cancel","params":{"target":1,"signal":0}}"#.utf8), "invalid_field", 41),
        ("length -1", Array(#"{"type":"request","id":42,"op":"fs.read","params":{"path":"/etc/hostname","length":-1}}"#.utf8), "invalid_field", 42),
    ]

    @Test("each malformed input gets its code and the agent still answers pings")
    func malformedInputs() throws {
        #expect(Self.cases.count >= 20)
        let agent = try RawAgent()
        #expect(agent.hello()?["type"] as? String == "hello")
        for (index, (name, bytes, code, id)) in Self.cases.enumerated() {
            agent.send(bytes + [0x0A])
            let reply = try #require(agent.reply(), "no answer to \(name)")
            #expect(reply.errorCode == code, "\(name): got \(reply)")
            #expect(reply.id == id, "\(name): id \(String(describing: reply.id))")
            let pingID = 10_000 + index
            agent.send(#"{"type":"request","id":\#(pingID),"op":"ping"}"#)
            let pong = try #require(agent.reply(), "no pong after \(name)")
            #expect(pong.id == UInt64(pingID) && pong["op"] as? String == "ping", "after \(name): \(pong)")
        }
        #expect(agent.process.isRunning)
    }

    @Test("blank and whitespace-only lines are ignored, as the spec says")
    func blankLines() throws {
        let agent = try RawAgent()
        _ = agent.hello()
        agent.send([0x0A, 0x20, 0x20, 0x0A, 0x09, 0x0D, 0x0A])
        agent.send(#"{"type":"request","id":7,"op":"ping"}"#)
        let pong = try #require(agent.reply())
        #expect(pong.id == 7 && pong.errorCode == nil, "blank lines were answered: \(pong)")
    }

    @Test("a duplicate id in flight is refused while the first request carries on")
    func duplicateID() throws {
        let agent = try RawAgent()
        _ = agent.hello()
        agent.send(#"{"type":"request","id":5,"op":"exec","params":{"argv":["sleep","0.5"]}}"#)
        agent.send(#"{"type":"request","id":5,"op":"ping"}"#)
        let refusal = try #require(agent.reply())
        #expect(refusal.errorCode == "duplicate_id" && refusal.id == 5)
        let finished = try #require(agent.reply())
        #expect(finished.id == 5 && finished["op"] as? String == "exec")
    }

    @Test("requests before hello are refused; a wrong version ends the session")
    func helloRules() throws {
        let agent = try RawAgent()
        agent.send(#"{"type":"request","id":1,"op":"ping"}"#)
        #expect(agent.reply()?.errorCode == "hello_required")
        agent.send(#"{"type":"hello","version":99,"client":"future"}"#)
        let refusal = try #require(agent.reply())
        #expect(refusal.errorCode == "version_mismatch")
        #expect(((refusal["error"] as? [String: Any])?["message"] as? String)?.contains("99") == true)
        #expect(agent.receiveLine(timeout: 5) == nil, "the session should end after a version mismatch")
        agent.process.waitUntilExit()
    }

    @Test("end of input ends the session cleanly")
    func eof() throws {
        let agent = try RawAgent()
        _ = agent.hello()
        agent.closeInput()
        agent.process.waitUntilExit()
        #expect(agent.process.terminationStatus == 0)
    }
}

@Suite("the controller checks the agent too", .timeLimit(.minutes(5)))
struct ControllerHandshakeTests {
    @Test("an agent of another protocol version is refused with both versions named")
    func versionMismatch() async throws {
        let other = ProtocolConstants.version + 1
        let fakeAgent = #"read hello; echo '{"type":"hello","version":\#(other),"agent":"9.9","session":"s","pid":1,"operations":[],"maxLine":100,"window":100}'; cat >/dev/null"#
        do {
            let client = try await LocalAgent.connect(command: ["/bin/sh", "-c", fakeAgent, "sh"], logger: AgentHarness.logger)
            client.close()
            Issue.record("a version-\(other) agent was accepted")
        } catch let error as AgentClientError {
            #expect(error.kind == .handshake)
            #expect(error.message.contains("version \(other)") && error.message.contains("\(ProtocolConstants.version)"))
        }
    }

    @Test("an agent that dies before its hello is a transport error, not a hang")
    func deadBeforeHello() async throws {
        do {
            _ = try await LocalAgent.connect(command: ["/bin/sh", "-c", "exit 3", "sh"], logger: AgentHarness.logger)
            Issue.record("connected to nothing")
        } catch let error as AgentClientError {
            #expect(error.kind == .transport)
        }
    }

    @Test("garbage instead of a hello is a protocol error")
    func garbageHello() async throws {
        do {
            _ = try await LocalAgent.connect(command: ["/bin/sh", "-c", "read x; echo 'Welcome to my shell!'; cat >/dev/null", "sh"], logger: AgentHarness.logger)
            Issue.record("accepted garbage")
        } catch let error as AgentClientError {
            #expect(error.kind == .protocolViolation)
        }
    }
}
