import AgentProtocol
import Foundation
import Glibc
import Testing

typealias Operation = AgentProtocol.Operation

/// Issue 21, finding 3 and the numbers of every operation: the real agent
/// binary gets each numeric field of each operation at its boundaries and
/// answers each with a reply (or `invalid_field` naming the field, with the
/// request's id), and is alive afterwards.
@Suite("numbers at their boundaries never kill the agent", .timeLimit(.minutes(5)))
struct NumericBoundaryTests {
    static let boundaries = ["0", "-1", "2147483648", "9007199254740992", "9223372036854775808",
                             "18446744073709551615", "1e308", "1.5", "-0"]

    /// A scratch directory with an empty sync destination `dest` in it
    /// (a chunk only reaches the file writer below an existing root), removed by the caller.
    static func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "numbers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/dest", withIntermediateDirectories: true)
        return directory
    }

    /// Valid parameters for `op`, as JSON members with every numeric field
    /// set; nil for shutdown, which is never sent here.
    static func params(_ op: Operation, _ dir: String) -> [(String, String)]? {
        switch op {
        case .shutdown: nil
        case .ping: []
        case .exec: [("argv", #"["true"]"#), ("timeoutMs", "1000"), ("killGraceMs", "100")]
        case .cancel: [("target", "999999"), ("signal", "15"), ("killGraceMs", "100")]
        case .stat: [("path", #""/""#)]
        case .mkdir: [("path", #""\#(dir)/m""#), ("mode", "493")]
        case .write: [("path", #""\#(dir)/w""#), ("data", #""aGk=""#), ("mode", "420")]
        case .read: [("path", #""\#(dir)/r""#), ("offset", "0"), ("length", "10")]
        case .remove: [("path", #""\#(dir)/nothing""#), ("missingOK", "true")]
        case .chmod: [("path", #""\#(dir)/r""#), ("mode", "420")]
        case .chown: [("path", #""\#(dir)/r""#), ("uid", "\(getuid())"), ("gid", "\(getgid())")]
        case .symlink: [("target", #""r""#), ("path", #""\#(dir)/l""#)]
        case .list: [("path", #""\#(dir)""#)]
        case .stdin: [("target", "999999"), ("eof", "true")]
        case .syncScan: [("root", #""\#(dir)/sync""#), ("inlineLimit", "1000"), ("waitMs", "0")]
        case .syncApply: [("root", #""\#(dir)/sync""#), ("batch", #""\#(Data("ASB1".utf8).base64EncodedString())""#)]
        case .configure: [("idleTimeoutSeconds", "60")]
        }
    }

    static func request(id: String, op: Operation, params: [(String, String)]) -> String {
        let members = params.map { #""\#($0.0)":\#($0.1)"# }.joined(separator: ",")
        return #"{"type":"request","id":\#(id),"op":"\#(op.rawValue)"\#(params.isEmpty ? "" : #","params":{\#(members)}"#)}"#
    }

    /// The reply whose id is `id` (nil: a reply without one), skipping
    /// events and the late replies of earlier execs.
    static func reply(_ agent: RawAgent, id: UInt64?) -> [String: Any]? {
        while let message = agent.receive(timeout: 30) {
            guard message["type"] as? String == "reply" else { continue }
            if message.id == id { return message }
        }
        return nil
    }

    @Test("every numeric field of every operation at 0, -1, 2^31, 2^53, 2^63, 2^64-1, 1e308, 1.5 and -0")
    func everyFieldAtItsBoundaries() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("0123456789abcdef".utf8).write(to: URL(fileURLWithPath: dir + "/r"))
        let agent = try RawAgent()
        _ = try #require(agent.hello())
        var nextID: UInt64 = 1000
        var sent = 0
        for op in Operation.allCases {
            guard let params = Self.params(op, dir) else { continue }
            let keys = Set(params.map { "params." + $0.0 })
            for field in NumericFields.params(of: op) {
                #expect(keys.contains(field.path), "the sample of \(op.rawValue) lacks \(field.path)")
            }
            for field in NumericFields.request(op) {
                for value in Self.boundaries {
                    nextID += 1
                    let inRange = value.allSatisfy(\.isNumber) && UInt64(value).map(field.range.contains) == true
                    let line: String
                    let expectedID: UInt64?
                    if field == NumericFields.requestID {
                        line = Self.request(id: value, op: op, params: params)
                        expectedID = inRange ? UInt64(value) : nil
                    } else {
                        let key = String(field.path.dropFirst("params.".count))
                        line = Self.request(id: "\(nextID)", op: op, params: params.map { $0.0 == key ? ($0.0, value) : $0 })
                        expectedID = nextID
                    }
                    agent.send(line)
                    sent += 1
                    guard let reply = Self.reply(agent, id: expectedID) else {
                        Issue.record("no reply to \(line): the agent died or hangs")
                        return
                    }
                    let error = reply["error"] as? [String: Any]
                    let namesField = (error?["message"] as? String)?.hasPrefix(field.path + ":") == true
                    if inRange {
                        #expect(!(reply.errorCode == "invalid_field" && namesField), "\(line) was refused: \(reply)")
                    } else {
                        #expect(reply.errorCode == "invalid_field" && namesField, "\(line): \(reply)")
                    }
                }
            }
        }
        #expect(sent > 100)
        #expect(agent.request(1, "ping", "{}")?["op"] as? String == "ping", "the agent no longer answers")
        #expect(agent.process.isRunning)
    }

    /// A `sync.apply` batch of one chunk of file `f` (the binary form of docs/protocol.md, "Sync").
    static func chunkBatch(offset: UInt64, total: UInt64, data: [UInt8]) -> String {
        var bytes = Array("ASB1".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        bytes.append(6)
        u32(1)
        bytes += Array("f".utf8)
        u32(0o644)
        u64(1)
        u64(offset)
        u64(total)
        bytes.append(0)
        u32(UInt32(data.count))
        bytes += data
        return Data(bytes).base64EncodedString()
    }

    static let hugeChunks: [(offset: UInt64, total: UInt64)] = [
        (1 << 63, (1 << 63) + 10), (.max - 3, .max), (.max, .max), ((1 << 62) + 1, (1 << 62) + 10),
    ]

    @Test("finding 3: a sync.apply chunk at offset 2^63 or beyond is invalid_field, not SIGILL")
    func hugeChunkOffset() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let agent = try RawAgent()
        _ = try #require(agent.hello())
        for (i, chunk) in Self.hugeChunks.enumerated() {
            // A real sync begins with a scan (an apply without one is `unknown_sync`);
            // a refused batch ends that sync, so each chunk gets a scan of its own.
            let scan = try #require(agent.request(UInt64(50 + i), "sync.scan", #"{"root":"\#(dir)/dest"}"#))
            #expect(scan.errorCode == nil, "\(scan)")
            let batch = Self.chunkBatch(offset: chunk.offset, total: chunk.total, data: Array("abc".utf8))
            let reply = try #require(agent.request(UInt64(10 + i), "sync.apply", #"{"root":"\#(dir)/dest","batch":"\#(batch)"}"#),
                                     "no reply to a chunk at \(chunk.offset): the agent died")
            #expect(reply.errorCode == "invalid_field", "\(reply)")
            #expect(reply.id == UInt64(10 + i))
        }
        #expect(agent.request(99, "ping", "{}")?["op"] as? String == "ping")
        #expect(agent.process.isRunning)
    }

    @Test("finding 3 in serve mode: the other sessions of the agent carry on")
    func hugeChunkOffsetServe() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ListenerTests.Server()
        let bystander = try await server.connect(token: server.token)
        defer { bystander.close() }
        try await bystander.ping()
        let attacker = try RawConnection(port: server.port)
        _ = try #require(await attacker.hello(token: server.token))
        attacker.send(#"{"type":"request","id":4,"op":"sync.scan","params":{"root":"\#(dir)/dest"}}"#)
        let scan = try #require(await attacker.receive(), "no reply to the scan")
        #expect(scan.errorCode == nil && scan.id == 4, "\(scan)")
        let batch = Self.chunkBatch(offset: 1 << 63, total: (1 << 63) + 10, data: Array("abc".utf8))
        attacker.send(#"{"type":"request","id":5,"op":"sync.apply","params":{"root":"\#(dir)/dest","batch":"\#(batch)"}}"#)
        let reply = try #require(await attacker.receive(), "no reply: the agent died")
        #expect(reply.errorCode == "invalid_field" && reply.id == 5, "\(reply)")
        try await bystander.ping()
        #expect(text(try await bystander.run(ExecParams(argv: ["echo", "still here"])).stdout) == "still here\n")
        #expect(server.process.isRunning)
    }
}
