import AgentProtocol
import Foundation
import Testing
import TestSupport

/// Random messages, from a fixed seed so that a failure reproduces.
@Suite("Property: random messages round-trip through random chunking")
struct PropertyTests {
    static func randomString(_ rng: inout SplitMix64) -> String {
        let alphabet = Array("abc /\\\"\n\t{}[]:,é😀\u{7f}\u{1}")
        return String((0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static func randomBytes(_ rng: inout SplitMix64) -> Data {
        Data((0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    static func randomRequest(_ rng: inout SplitMix64) -> RequestBody {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            let argv = (0...Int.random(in: 0...4, using: &rng)).map { _ in randomString(&rng) }
            let env = Dictionary((0..<Int.random(in: 0...3, using: &rng)).map { _ in (randomString(&rng), randomString(&rng)) }, uniquingKeysWith: { a, _ in a })
            return .exec(ExecParams(argv: argv, env: env, cwd: "/" + randomString(&rng), stdin: randomBytes(&rng),
                                    timeoutMs: Bool.random(using: &rng) ? Int.random(in: 0...100_000, using: &rng) : nil))
        case 1: return .write(WriteParams(path: "/" + randomString(&rng), data: randomBytes(&rng), mode: UInt32.random(in: 0...0o7777, using: &rng)))
        case 2: return .read(ReadParams(path: "/" + randomString(&rng), offset: Int64.random(in: 0...ProtocolConstants.maxFileOffset, using: &rng), length: nil))
        case 3: return .cancel(CancelParams(target: UInt64.random(in: 0...UInt64.max, using: &rng)))
        default: return .ping
        }
    }

    @Test("1000 random requests, fed in random chunks")
    func randomRequests() throws {
        var rng = SplitMix64(seed: 20261126)
        let codec = MessageCodec()
        var messages: [ControllerMessage] = []
        var stream: [UInt8] = []
        for i in 0..<1000 {
            let message = ControllerMessage.request(Request(id: UInt64(i), body: Self.randomRequest(&rng)))
            messages.append(message)
            stream += try codec.encodeLine(message)
        }
        var framer = LineFramer()
        var decoded: [ControllerMessage] = []
        var offset = 0
        while offset < stream.count {
            let n = min(stream.count - offset, Int.random(in: 1...4096, using: &rng))
            framer.push(Array(stream[offset..<offset + n])) { item in
                guard case .line(let line) = item else { Issue.record("unexpected \(item)"); return }
                decoded.append(try! codec.decodeControllerLine(line).get())
            }
            offset += n
        }
        #expect(decoded == messages)
    }

    @Test("random output events round-trip byte for byte")
    func randomEvents() throws {
        var rng = SplitMix64(seed: 7)
        let codec = MessageCodec()
        for seq in 1...500 {
            let body = EventBody.output(OutputEvent(stream: Bool.random(using: &rng) ? .stdout : .stderr, data: Self.randomBytes(&rng)))
            let message = AgentMessage.event(Event(id: UInt64(seq % 7), seq: UInt64(seq), body: body))
            let line = try codec.encodeLine(message)
            #expect(try codec.decodeAgentLine(Array(line.dropLast())).get() == message)
        }
    }

    @Test("random garbage never crashes the decoder and always yields a code")
    func garbage() {
        var rng = SplitMix64(seed: 99)
        let codec = MessageCodec()
        let fragments = ["{", "}", "\"type\"", ":", "\"request\"", ",", "\"id\"", "1", "\"op\"", "\"exec\"", "[", "]", "null", "\"params\"", "-", "1e999", "\\u0000"]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 1...12, using: &rng)).map { _ in fragments.randomElement(using: &rng)! }.joined()
            if case .failure(let error) = codec.decodeControllerLine(Array(text.utf8)) {
                #expect(!error.error.code.rawValue.isEmpty)
            }
        }
    }
}

@Suite("Property: the fast decoder agrees with Codable")
struct FastDecoderAgreementTests {
    /// Valid hot messages, then the same lines with keys dropped, values
    /// retyped and text spliced: whenever the fast path answers, Codable
    /// must give the same message.
    @Test("2000 messages and 6000 mutants")
    func agreement() throws {
        var rng = SplitMix64(seed: 4242)
        let codec = MessageCodec()
        var lines: [[UInt8]] = []
        for i in 0..<1000 {
            let request = ControllerMessage.request(Request(id: UInt64(i), body: PropertyTests.randomRequest(&rng)))
            lines.append(Array(try codec.encodeLine(request).dropLast()))
            let reply: AgentMessage = i % 2 == 0
                ? .event(Event(id: UInt64(i), seq: UInt64(i), body: .output(OutputEvent(stream: .stderr, data: PropertyTests.randomBytes(&rng)))))
                : .reply(Reply(id: UInt64(i), seq: UInt64(i), outcome: .success(.exec(ExecResult(exitCode: Int32(i % 256), signal: nil, durationUs: Int64(i))))))
            lines.append(Array(try codec.encodeLine(reply).dropLast()))
        }
        let splices = [#""x""#, "1", "-1", "1.5", "null", "true", "[]", "{}", #""\u00e9""#, "1e3", #""AAA=""#]
        var mutants: [[UInt8]] = []
        for line in lines {
            for _ in 0..<3 {
                var text = String(decoding: line, as: UTF8.self)
                let colons = text.indices.filter { text[$0] == ":" }
                if let at = colons.randomElement(using: &rng) {
                    let after = text.index(after: at)
                    let end = text[after...].firstIndex { $0 == "," || $0 == "}" } ?? text.endIndex
                    text.replaceSubrange(after..<end, with: splices.randomElement(using: &rng)!)
                }
                mutants.append(Array(text.utf8))
            }
        }
        for line in lines + mutants {
            if let fast = ControllerMessage.fastDecodeForTesting(line) {
                #expect(try codec.decodeWithCodable(ControllerMessage.self, line).get() == fast, "\(String(decoding: line, as: UTF8.self))")
            }
            if let fast = AgentMessage.fastDecodeForTesting(line) {
                #expect(try codec.decodeWithCodable(AgentMessage.self, line).get() == fast, "\(String(decoding: line, as: UTF8.self))")
            }
        }
    }
}
