import AgentProtocol
import Foundation
import Testing

@Suite("Bad lines map to stable error codes")
struct DecodingErrorTests {
    let codec = MessageCodec()

    func decode(_ text: String) -> MessageCodec.LineError? {
        if case .failure(let error) = codec.decodeControllerLine(Array(text.utf8)) { return error }
        return nil
    }

    @Test("malformed lines", arguments: [
        ("not json", "bad_json", nil),
        ("{\"type\":\"request\",\"id\":1", "bad_json", nil),
        ("[1,2]", "bad_message", nil),
        ("\"hello\"", "bad_message", nil),
        ("{}", "bad_message", nil),
        ("{\"type\":5}", "bad_message", nil),
        ("{\"type\":\"bogus\"}", "unknown_type", nil),
        ("{\"type\":\"request\",\"op\":\"ping\"}", "invalid_field", nil),
        ("{\"type\":\"request\",\"id\":-1,\"op\":\"ping\"}", "invalid_field", nil),
        ("{\"type\":\"request\",\"id\":\"1\",\"op\":\"ping\"}", "invalid_field", nil),
        ("{\"type\":\"request\",\"id\":4,\"op\":\"dance\"}", "unknown_op", 4),
        ("{\"type\":\"request\",\"id\":4}", "missing_field", 4),
        ("{\"type\":\"request\",\"id\":5,\"op\":\"exec\"}", "missing_field", 5),
        ("{\"type\":\"request\",\"id\":5,\"op\":\"exec\",\"params\":{}}", "missing_field", 5),
        ("{\"type\":\"request\",\"id\":6,\"op\":\"exec\",\"params\":{\"argv\":\"ls\"}}", "invalid_field", 6),
        ("{\"type\":\"request\",\"id\":6,\"op\":\"exec\",\"params\":{\"argv\":[\"a\"],\"stdin\":\"***\"}}", "invalid_field", 6),
        ("{\"type\":\"request\",\"id\":7,\"op\":\"fs.chmod\",\"params\":{\"path\":\"/x\",\"mode\":null}}", "invalid_field", 7),
        ("{\"type\":\"ack\"}", "missing_field", nil),
    ] as [(String, String, UInt64?)])
    func malformed(_ text: String, _ code: String, _ id: UInt64?) throws {
        let error = try #require(decode(text))
        #expect(error.error.code.rawValue == code, "\(text) -> \(error.error)")
        #expect(error.id == id)
        #expect(!error.error.message.isEmpty)
    }

    @Test("invalid UTF-8 gets its own code")
    func invalidUTF8() throws {
        var bytes = Array("{\"type\":\"request\",\"id\":1,\"op\":\"ping\",\"x\":\"".utf8)
        bytes += [0xc3, 0x28, 0x22, 0x7d]
        guard case .failure(let error) = codec.decodeControllerLine(bytes) else { Issue.record("accepted"); return }
        #expect(error.error.code == .badUTF8)
    }

    @Test("validation rejects what JSON allows", arguments: [
        (RequestBody.exec(ExecParams(argv: [])), "invalid_field"),
        (.exec(ExecParams(argv: [""])), "invalid_field"),
        (.exec(ExecParams(argv: ["a\u{0}b"])), "invalid_field"),
        (.exec(ExecParams(argv: ["a"], env: ["A=B": "1"])), "invalid_field"),
        (.exec(ExecParams(argv: ["a"], cwd: "relative")), "invalid_field"),
        (.exec(ExecParams(argv: ["a"], timeoutMs: -1)), "invalid_field"),
        (.exec(ExecParams(argv: ["a"], stdin: Data(count: ProtocolConstants.maxExecStdin + 1))), "too_large"),
        (.stat(StatParams(path: "x")), "invalid_field"),
        (.mkdir(MkdirParams(path: "/x", mode: 0o17777)), "invalid_field"),
        (.remove(RemoveParams(path: "/", recursive: true)), "invalid_field"),
        (.read(ReadParams(path: "/x", offset: -1)), "invalid_field"),
        (.cancel(CancelParams(target: 1, signal: 99)), "invalid_field"),
        (.symlink(SymlinkParams(target: "", path: "/l")), "invalid_field"),
    ] as [(RequestBody, String)])
    func validation(_ body: RequestBody, _ code: String) {
        #expect(throws: ProtocolError.self) { try body.validate() }
        do { try body.validate() } catch { #expect(error.code.rawValue == code) }
    }

    @Test("valid requests pass validation", arguments: Fixtures.requests)
    func validRequests(_ body: RequestBody) throws {
        try body.validate()
    }
}
