import AgentProtocol
import Foundation
import Testing

@Suite("Messages survive encode and decode")
struct MessageRoundTripTests {
    let codec = MessageCodec()

    func strip(_ line: [UInt8]) -> [UInt8] {
        #expect(line.last == 0x0A)
        #expect(!line.dropLast().contains(0x0A), "a message must be exactly one line")
        return Array(line.dropLast())
    }

    @Test("every request", arguments: Fixtures.requests)
    func request(_ body: RequestBody) throws {
        let message = ControllerMessage.request(Request(id: 12_345_678_901, body: body))
        let decoded = codec.decodeControllerLine(strip(try codec.encodeLine(message)))
        #expect(try decoded.get() == message)
    }

    @Test("hello and ack")
    func controlMessages() throws {
        for message in [ControllerMessage.hello(ControllerHello(token: "t", client: "c", window: 5)),
                        .hello(ControllerHello(token: nil, client: "c")), .ack(seq: .max)] {
            #expect(try codec.decodeControllerLine(strip(try codec.encodeLine(message))).get() == message)
        }
        let hello = AgentMessage.hello(AgentHello(version: 1, agent: "a", session: "s", pid: 4, operations: ["ping"], maxLine: 10, window: 20))
        #expect(try codec.decodeAgentLine(strip(try codec.encodeLine(hello))).get() == hello)
    }

    @Test("resume: the hello's request and answer, and bye")
    func resumeMessages() throws {
        let resume = ControllerMessage.hello(ControllerHello(token: "t", client: "c", resumable: true,
                                                              resume: ResumeRequest(session: "ab12", ack: .max)))
        for message in [resume, .hello(ControllerHello(token: "t", client: "c", resumable: true)), .bye] {
            #expect(try codec.decodeControllerLine(strip(try codec.encodeLine(message))).get() == message)
        }
        let hello = AgentMessage.hello(AgentHello(version: 2, agent: "a", session: "ab12", pid: 4, operations: ["ping"], maxLine: 10,
                                                  window: 20, graceMs: 60_000, resumed: ResumeInfo(from: 18, received: 9)))
        #expect(try codec.decodeAgentLine(strip(try codec.encodeLine(hello))).get() == hello)
        #expect(String(decoding: try codec.encodeLine(ControllerMessage.bye), as: UTF8.self) == "{\"type\":\"bye\"}\n")
    }

    @Test("a resume with an ack that is not an unsigned 64-bit number is invalid_field")
    func resumeOutOfRange() throws {
        for ack in ["-1", "1e30", "18446744073709551616", "\"7\""] {
            let line = #"{"type":"hello","version":2,"client":"c","resume":{"session":"ab","ack":"# + ack + "}}"
            guard case .failure(let failure) = codec.decodeControllerLine(Array(line.utf8)) else {
                Issue.record("accepted ack \(ack)")
                continue
            }
            #expect(failure.error.code == .invalidField, "ack \(ack): \(failure.error)")
        }
    }

    @Test("every reply", arguments: Fixtures.replies)
    func reply(_ outcome: Result<ReplyBody, ProtocolError>) throws {
        for id in [UInt64?.none, 0, 7] {
            let message = AgentMessage.reply(Reply(id: id, seq: 3, outcome: outcome))
            #expect(try codec.decodeAgentLine(strip(try codec.encodeLine(message))).get() == message)
        }
    }

    @Test("every event", arguments: Fixtures.events)
    func event(_ body: EventBody) throws {
        let message = AgentMessage.event(Event(id: 1, seq: 2, body: body))
        #expect(try codec.decodeAgentLine(strip(try codec.encodeLine(message))).get() == message)
    }

    @Test("binary bytes travel as base64, never raw")
    func binaryIsBase64() throws {
        let message = AgentMessage.event(Event(id: 1, seq: 1, body: .output(OutputEvent(stream: .stdout, data: Data([0xff, 0x00, 0x0a])))))
        let line = try codec.encodeLine(message)
        #expect(String(validating: line, as: UTF8.self) != nil)
        #expect(String(decoding: line, as: UTF8.self).contains("\"/wAK\""))
    }

    @Test("a message too large for a line is refused when encoding")
    func oversizedEncode() {
        let small = MessageCodec(maxLineLength: 100)
        #expect(throws: ProtocolError.self) {
            try small.encodeLine(ControllerMessage.request(Request(id: 1, body: .write(WriteParams(path: "/f", data: Data(count: 200))))))
        }
    }
}

@Suite("The hand-written encoder agrees with Codable")
struct FastEncoderTests {
    let codec = MessageCodec()

    @Test("every request and control message decodes the same either way")
    func controllerMessages() throws {
        var messages = Fixtures.requests.enumerated().map { ControllerMessage.request(Request(id: UInt64($0.offset), body: $0.element)) }
        messages += [.ack(seq: 0), .ack(seq: .max),
                     .request(Request(id: .max, body: .exec(ExecParams(argv: ["q\"\\\n\t\u{1}é😀"], env: ["K\"": "v\\\u{7}"], unsetEnv: [""]))))]
        for message in messages {
            let fast = try codec.encodeLine(message)
            let slow = try codec.encodeWithCodable(message)
            #expect(try codec.decodeControllerLine(Array(fast.dropLast())).get() == message, "\(String(decoding: fast, as: UTF8.self))")
            #expect(try codec.decodeControllerLine(Array(slow.dropLast())).get() == message)
        }
    }

    @Test("fs.read replies (a megabyte of base64 each) are written as Codable writes them, up to key order")
    func readReplyBytes() throws {
        for id in [UInt64?.none, 0, .max] {
            let message = AgentMessage.reply(Reply(id: id, seq: 9, outcome: .success(.read(ReadResult(data: Data((0...255).map(UInt8.init)), size: .max)))))
            let fast = try codec.encodeLine(message), slow = try codec.encodeWithCodable(message)
            let fastObject = try JSONSerialization.jsonObject(with: Data(fast)) as? NSDictionary
            let slowObject = try JSONSerialization.jsonObject(with: Data(slow)) as? NSDictionary
            #expect(fastObject != nil && fastObject == slowObject, "\(String(decoding: fast.prefix(120), as: UTF8.self))")
            #expect(try codec.decodeWithCodable(AgentMessage.self, Array(fast.dropLast())).get() == message)
        }
    }

    @Test("every reply and event decodes the same either way")
    func agentMessages() throws {
        var messages = Fixtures.replies.map { AgentMessage.reply(Reply(id: 3, seq: 4, outcome: $0)) }
        messages += Fixtures.events.map { AgentMessage.event(Event(id: 1, seq: 2, body: $0)) }
        messages.append(.reply(Reply(id: nil, seq: 1, outcome: .failure(ProtocolError(.badJSON, "line \"x\"\n\u{0}")))))
        for message in messages {
            let fast = try codec.encodeLine(message)
            #expect(try codec.decodeAgentLine(Array(fast.dropLast())).get() == message, "\(String(decoding: fast, as: UTF8.self))")
        }
    }
}
