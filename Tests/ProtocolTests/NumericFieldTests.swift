@testable import AgentProtocol
import Foundation
import Testing

typealias Operation = AgentProtocol.Operation

/// Issue 21: every number either side receives is range-checked before use,
/// against one table (`NumericFields`) that cannot miss a field.
@Suite("NumericFields: every number, its range, checked before use")
struct NumericFieldTests {
    let codec = MessageCodec()

    /// The values each numeric field is tried with: type boundaries, a
    /// fraction, an exponent too large for any integer, and negative zero.
    static let boundaries = ["0", "-1", "2147483647", "2147483648", "9007199254740992", "9223372036854775808",
                             "18446744073709551615", "1e308", "1.5", "-0"]

    /// A request for `op` with every optional number set. The switch has no
    /// default, so a new operation does not compile until it has a sample.
    static func fullSample(_ op: Operation) -> RequestBody {
        switch op {
        case .ping: .ping
        case .shutdown: .shutdown
        case .exec: .exec(ExecParams(argv: ["true"], env: ["A": "1"], clearEnv: false, unsetEnv: ["B"], cwd: "/", stdin: Data([1]),
                                     timeoutMs: 1, killGraceMs: 2, stdinStream: true))
        case .cancel: .cancel(CancelParams(target: 1, signal: 15, killGraceMs: 3))
        case .stat: .stat(StatParams(path: "/", noFollow: true))
        case .mkdir: .mkdir(MkdirParams(path: "/m", mode: 0o755, scratch: true))
        case .write: .write(WriteParams(path: "/w", data: Data([1]), mode: 0o644))
        case .read: .read(ReadParams(path: "/r", offset: 1, length: 2))
        case .remove: .remove(RemoveParams(path: "/d", recursive: true, missingOK: true))
        case .chmod: .chmod(ChmodParams(path: "/c", mode: 0o600))
        case .chown: .chown(ChownParams(path: "/o", uid: 1, gid: 2, noFollow: true))
        case .symlink: .symlink(SymlinkParams(target: "t", path: "/l"))
        case .list: .list(ListParams(path: "/"))
        case .stdin: .stdin(StdinParams(target: 1, data: Data([1]), eof: true))
        case .syncScan: .syncScan(SyncScanParams(root: "/s", inlineLimit: 5, adopt: true, waitMs: 7))
        case .syncApply: .syncApply(SyncApplyParams(root: "/s", batch: Data([1]), save: true))
        case .configure: .configure(ConfigureParams(idleTimeoutSeconds: 9))
        }
    }

    /// Dot paths of every number in a JSON object.
    static func numberPaths(_ value: JSONValue, prefix: String = "") -> Set<String> {
        switch value {
        case .object(let members):
            var paths: Set<String> = []
            for (key, member) in members { paths.formUnion(numberPaths(member, prefix: prefix.isEmpty ? key : prefix + "." + key)) }
            return paths
        case .number: return [prefix]
        default: return []
        }
    }

    static func parse(_ line: [UInt8]) throws -> JSONValue {
        let bytes = line.last == 0x0A ? Array(line.dropLast()) : line
        return try #require(JSONScanner.parse(bytes))
    }

    /// `value` with the member at `path` replaced by the raw number text `number`.
    static func replacing(_ value: JSONValue, _ path: ArraySlice<Substring>, with number: String) -> JSONValue {
        guard let key = path.first, case .object(var members) = value else { return .number(number) }
        members[String(key)] = replacing(members[String(key)] ?? .null, path.dropFirst(), with: number)
        return .object(members)
    }

    static func serialize(_ value: JSONValue) -> String {
        switch value {
        case .object(let members): "{" + members.map { quote($0.key) + ":" + serialize($0.value) }.joined(separator: ",") + "}"
        case .array(let items): "[" + items.map(serialize).joined(separator: ",") + "]"
        case .string(let text): quote(text)
        case .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .null: "null"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Whether a value of `value`'s static type is an integer (optional or not).
    static func isInteger(_ value: Any) -> Bool {
        let integerTypes: [Any.Type] = [Int.self, Int32.self, Int64.self, UInt32.self, UInt64.self,
                                        Int?.self, Int32?.self, Int64?.self, UInt32?.self, UInt64?.self]
        return integerTypes.contains { $0 == type(of: value) }
    }

    @Test("the table lists every number the encoders emit for every operation, and nothing else", arguments: Operation.allCases)
    func tableCoversEncoder(_ op: Operation) throws {
        let body = Self.fullSample(op)
        let expected = Set(NumericFields.request(op).map(\.path))
        let message = ControllerMessage.request(Request(id: 1, body: body))
        for line in [try codec.encodeLine(message), try codec.encodeWithCodable(message)] {
            #expect(Self.numberPaths(try Self.parse(line)) == expected, "\(op.rawValue): \(String(decoding: line, as: UTF8.self))")
        }
        #expect(Set(body.numericValues.keys) == Set(NumericFields.params(of: op).map(\.path)), "\(op.rawValue)")
    }

    @Test("the table lists every integer property of every parameter type (a new field cannot be forgotten)", arguments: Operation.allCases)
    func tableCoversTypes(_ op: Operation) {
        let body = Self.fullSample(op)
        guard let params = Mirror(reflecting: body).children.first?.value else {
            #expect(NumericFields.params(of: op).isEmpty)
            return
        }
        let integers = Set(Mirror(reflecting: params).children.compactMap { child in
            Self.isInteger(child.value) ? child.label.map { "params." + $0 } : nil
        })
        #expect(integers == Set(NumericFields.params(of: op).map(\.path)), "\(op.rawValue)")
    }

    @Test("hello and ack: the table lists every number they carry")
    func controlMessagesCovered() throws {
        let hello = ControllerMessage.hello(ControllerHello(token: "t", client: "c", window: 5, resumable: true,
                                                            resume: ResumeRequest(session: "s", ack: 3)))
        #expect(Self.numberPaths(try Self.parse(try codec.encodeLine(hello))) == Set(NumericFields.hello.map(\.path)))
        #expect(Self.numberPaths(try Self.parse(try codec.encodeLine(ControllerMessage.ack(seq: 1)))) == Set(NumericFields.ack.map(\.path)))
    }

    /// The request for `op` with `field` replaced by the JSON text `value`.
    func line(_ op: Operation, _ field: NumericField, _ value: String, id: UInt64) throws -> String {
        let object = try Self.parse(try codec.encodeLine(ControllerMessage.request(Request(id: id, body: Self.fullSample(op)))))
        return Self.serialize(Self.replacing(object, ArraySlice(field.path.split(separator: ".")), with: value))
    }

    @Test("each number of each request at its boundaries: accepted within its range, else invalid_field naming it with the request's id",
          arguments: Operation.allCases)
    func boundaries(_ op: Operation) throws {
        for field in NumericFields.request(op) {
            for value in Self.boundaries {
                let text = try line(op, field, value, id: 77)
                let inRange = value.allSatisfy(\.isNumber) && UInt64(value).map(field.range.contains) == true
                switch codec.decodeControllerLine(Array(text.utf8)) {
                case .success(.request(let request)):
                    #expect(inRange, "\(text) was accepted")
                    // Typed validation agrees with the JSON check (other checks may still refuse).
                    if case .failure(let error) = Result(catching: { () throws(ProtocolError) in try request.body.validate() }) {
                        #expect(!error.message.hasPrefix(field.path + ":"), "\(text): \(error)")
                    }
                case .success(let other):
                    Issue.record("\(text) decoded as \(other)")
                case .failure(let failure):
                    #expect(!inRange, "\(text) was refused: \(failure.error)")
                    #expect(failure.error.code == .invalidField, "\(text): \(failure.error)")
                    #expect(failure.error.message.hasPrefix(field.path + ":"), "\(text): \(failure.error)")
                    #expect(failure.id == (field == NumericFields.requestID ? nil : 77), "\(text): id \(String(describing: failure.id))")
                }
            }
        }
    }

    @Test("hello and ack numbers out of range are invalid_field naming them")
    func controlBoundaries() throws {
        for value in Self.boundaries {
            let inSeq = value.allSatisfy(\.isNumber) && UInt64(value) != nil
            let ack = codec.decodeControllerLine(Array(#"{"type":"ack","seq":\#(value)}"#.utf8))
            switch ack {
            case .success: #expect(inSeq, "ack \(value) accepted")
            case .failure(let failure):
                #expect(!inSeq && failure.error.code == .invalidField && failure.error.message.hasPrefix("seq:"), "ack \(value): \(failure.error)")
            }
            for field in NumericFields.hello {
                let inner = field.path == "resume.ack" ? #""resume":{"session":"s","ack":\#(value)}"# : #""\#(field.path)":\#(value)"#
                let version = field.path == "version" ? "" : #""version":2,"#
                let text = #"{"type":"hello",\#(version)"client":"c",\#(inner)}"#
                let inRange = value.allSatisfy(\.isNumber) && UInt64(value).map(field.range.contains) == true
                switch codec.decodeControllerLine(Array(text.utf8)) {
                case .success: #expect(inRange, "\(text) accepted")
                case .failure(let failure):
                    #expect(!inRange && failure.error.code == .invalidField && failure.error.message.hasPrefix(field.path + ":"), "\(text): \(failure.error)")
                }
            }
        }
    }

    @Test("typed requests built in process are checked against the same table")
    func typedValidation() {
        let bad: [(RequestBody, String)] = [
            (.read(ReadParams(path: "/f", offset: .max)), "params.offset"),
            (.read(ReadParams(path: "/f", length: -1)), "params.length"),
            (.chown(ChownParams(path: "/f", uid: .max, gid: nil)), "params.uid"),
            (.cancel(CancelParams(target: 1, signal: 65)), "params.signal"),
            (.exec(ExecParams(argv: ["true"], timeoutMs: .max)), "params.timeoutMs"),
            (.mkdir(MkdirParams(path: "/m", mode: 0o10000)), "params.mode"),
            (.syncScan(SyncScanParams(root: "/s", inlineLimit: -1)), "params.inlineLimit"),
        ]
        for (body, path) in bad {
            #expect(throws: ProtocolError.self) { try body.validate() }
            do throws(ProtocolError) {
                try body.validate()
            } catch {
                #expect(error.code == .invalidField && error.message.hasPrefix(path + ":"), "\(error)")
            }
        }
    }

    /// Every number of `line`'s JSON replaced in turn by each boundary value.
    static func mutations(of line: [UInt8]) throws -> [String] {
        let object = try parse(line)
        var out: [String] = []
        for path in numberPaths(object) {
            for value in boundaries {
                out.append(serialize(replacing(object, ArraySlice(path.split(separator: ".")), with: value)))
            }
        }
        return out
    }

    @Test("the controller decodes agent replies, events and hellos with out-of-range numbers without trapping")
    func agentNumbersNeverTrap() throws {
        var messages = Fixtures.replies.map { AgentMessage.reply(Reply(id: 3, seq: 4, outcome: $0)) }
        messages += Fixtures.events.map { AgentMessage.event(Event(id: 1, seq: 2, body: $0)) }
        messages += [.hello(AgentHello(version: 2, agent: "a", session: "s", pid: 4, operations: ["ping"], maxLine: 10, window: 20,
                                       graceMs: 60_000, resumed: ResumeInfo(from: 18, received: 9))),
                     .reply(Reply(id: 1, seq: 2, outcome: .success(.syncScan(SyncScanResult(size: 3, data: nil, path: "/m", entries: 4, hashedFiles: 5))))),
                     .reply(Reply(id: 1, seq: 2, outcome: .success(.syncApply(SyncApplyResult(actions: 6))))),
                     .event(Event(id: 1, seq: 2, body: .started(StartedEvent(pid: 7))))]
        var tried = 0
        for message in messages {
            for text in try Self.mutations(of: try codec.encodeLine(message)) {
                // Either answer is fine; what matters is that neither path traps.
                _ = codec.decodeAgentLine(Array(text.utf8))
                _ = codec.decodeWithCodable(AgentMessage.self, Array(text.utf8))
                // And what the controller computes from a decoded exec result.
                if case .success(.reply(let reply)) = codec.decodeAgentLine(Array(text.utf8)), case .success(.exec(let result)) = reply.outcome {
                    _ = result.shellStatus
                }
                _ = AgentMessage.fastDecodeForTesting(Array(text.utf8))
                tried += 1
            }
        }
        #expect(tried > 200)
    }
}
