import FoundationEssentials

/// Writes the hot messages (pings, acks, output chunks, exec requests and
/// results, errors) straight to bytes. `JSONEncoder` costs ~40,000
/// instructions per small message (measured with callgrind, docs/benchmarks.md);
/// this costs a few hundred. Everything else still goes through Codable; both
/// produce the same JSON, which the round-trip tests check.
struct JSONWriter {
    var bytes: [UInt8] = []
    private var first = true

    init(capacity: Int = 128) {
        bytes.reserveCapacity(capacity)
    }

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        first = true
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        first = false
    }

    /// Starts a member: the comma if needed, the quoted key and the colon.
    mutating func key(_ name: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    mutating func member<I: BinaryInteger>(_ name: StaticString, _ value: I) {
        key(name)
        integer(value)
    }

    mutating func member(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    mutating func member(_ name: StaticString, base64 data: Data) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: data.base64EncodedString().utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func null() {
        bytes.append(contentsOf: Array("null".utf8))
    }

    mutating func integer<I: BinaryInteger>(_ value: I) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = UInt64(value.magnitude)
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                          hex[Int(byte >> 4)], hex[Int(byte & 0xf)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func stringArray(_ values: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            string(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Keys sorted, so that output is deterministic.
    mutating func stringDictionary(_ values: [String: String]) {
        beginObject()
        for (k, v) in values.sorted(by: { $0.key < $1.key }) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            string(k)
            bytes.append(UInt8(ascii: ":"))
            string(v)
        }
        endObject()
    }
}

extension AgentMessage {
    /// The line for this message if it is one of the hot kinds, else nil.
    func fastLine() -> [UInt8]? {
        var w = JSONWriter()
        switch self {
        case .hello:
            return nil
        case .event(let event):
            guard case .output(let output) = event.body else { return nil }
            w = JSONWriter(capacity: output.data.count * 4 / 3 + 96)
            w.beginObject()
            w.member("type", "event")
            w.member("id", event.id)
            w.member("seq", event.seq)
            w.member("kind", "output")
            w.key("body")
            w.beginObject()
            w.member("stream", output.stream.rawValue)
            w.member("data", base64: output.data)
            w.endObject()
            w.endObject()
        case .reply(let reply):
            w.beginObject()
            w.member("type", "reply")
            w.key("id")
            if let id = reply.id { w.integer(id) } else { w.null() }
            w.member("seq", reply.seq)
            switch reply.outcome {
            case .failure(let error):
                w.key("error")
                w.beginObject()
                w.member("code", error.code.rawValue)
                w.member("message", error.message)
                w.endObject()
            case .success(.done(let op)):
                w.member("op", op.rawValue)
                w.key("result")
                w.beginObject()
                w.endObject()
            case .success(.pong(let pong)):
                w.member("op", Operation.ping.rawValue)
                w.key("result")
                w.beginObject()
                w.member("monotonicNs", pong.monotonicNs)
                w.endObject()
            case .success(.exec(let result)):
                w.member("op", Operation.exec.rawValue)
                w.key("result")
                w.beginObject()
                if let code = result.exitCode { w.member("exitCode", code) }
                if let signal = result.signal { w.member("signal", signal) }
                w.member("timedOut", result.timedOut)
                w.member("cancelled", result.cancelled)
                w.member("durationUs", result.durationUs)
                w.endObject()
            case .success(.read(let result)):
                // A megabyte of base64 each: JSONEncoder would scan it for escapes.
                w = JSONWriter(capacity: result.data.count * 4 / 3 + 128)
                w.beginObject()
                w.member("type", "reply")
                w.key("id")
                if let id = reply.id { w.integer(id) } else { w.null() }
                w.member("seq", reply.seq)
                w.member("op", Operation.read.rawValue)
                w.key("result")
                w.beginObject()
                w.member("data", base64: result.data)
                w.member("size", result.size)
                w.endObject()
            case .success:
                return nil
            }
            w.endObject()
        }
        w.bytes.append(0x0A)
        return w.bytes
    }
}

extension ControllerMessage {
    /// The line for this message if it is one of the hot kinds, else nil.
    func fastLine() -> [UInt8]? {
        var w = JSONWriter()
        switch self {
        case .hello, .bye:
            return nil
        case .ack(let seq):
            w.beginObject()
            w.member("type", "ack")
            w.member("seq", seq)
            w.endObject()
        case .request(let request):
            w.beginObject()
            w.member("type", "request")
            w.member("id", request.id)
            w.member("op", request.body.operation.rawValue)
            switch request.body {
            case .ping, .shutdown:
                break
            case .cancel(let p):
                w.key("params")
                w.beginObject()
                w.member("target", p.target)
                if let signal = p.signal { w.member("signal", signal) }
                if let grace = p.killGraceMs { w.member("killGraceMs", grace) }
                w.endObject()
            case .exec(let p):
                w = JSONWriter(capacity: 160 + (p.stdin?.count ?? 0) * 4 / 3)
                w.beginObject()
                w.member("type", "request")
                w.member("id", request.id)
                w.member("op", Operation.exec.rawValue)
                w.key("params")
                w.beginObject()
                w.key("argv")
                w.stringArray(p.argv)
                if let env = p.env {
                    w.key("env")
                    w.stringDictionary(env)
                }
                if let clear = p.clearEnv { w.member("clearEnv", clear) }
                if let unset = p.unsetEnv {
                    w.key("unsetEnv")
                    w.stringArray(unset)
                }
                if let cwd = p.cwd { w.member("cwd", cwd) }
                if let stdin = p.stdin { w.member("stdin", base64: stdin) }
                if let timeout = p.timeoutMs { w.member("timeoutMs", timeout) }
                if let grace = p.killGraceMs { w.member("killGraceMs", grace) }
                if let stream = p.stdinStream { w.member("stdinStream", stream) }
                w.endObject()
            case .syncApply(let p):
                // Sync batches are megabytes of base64: JSONEncoder would scan the string for escapes.
                w = JSONWriter(capacity: 240 + p.root.utf8.count + p.batch.count * 4 / 3)
                w.beginObject()
                w.member("type", "request")
                w.member("id", request.id)
                w.member("op", Operation.syncApply.rawValue)
                w.key("params")
                w.beginObject()
                w.member("root", p.root)
                w.member("batch", base64: p.batch)
                if let save = p.save { w.member("save", save) }
                if let sync = p.sync { w.member("sync", sync) }
                if let abort = p.abort { w.member("abort", abort) }
                w.endObject()
            default:
                return nil
            }
            w.endObject()
        }
        w.bytes.append(0x0A)
        return w.bytes
    }
}
