import FoundationEssentials

/// Decoding of the hot messages without Codable. Returns nil for anything
/// that is not exactly a well-formed hot message, so that `JSONDecoder`
/// decides every other case, errors included; the tests check both agree.
extension ControllerMessage {
    static func fastDecode(_ line: [UInt8]) -> ControllerMessage? {
        JSONScanner.parse(line).flatMap(fastDecode)
    }

    static func fastDecode(_ root: JSONValue) -> ControllerMessage? {
        guard let type = root["type"]?.string else { return nil }
        switch type {
        case "ack":
            return root["seq"]?.uint64.map { .ack(seq: $0) }
        case "request":
            guard let id = root["id"]?.uint64, let op = root["op"]?.string.flatMap(Operation.init(rawValue:)) else { return nil }
            switch op {
            case .ping: return .request(Request(id: id, body: .ping))
            case .shutdown: return .request(Request(id: id, body: .shutdown))
            case .configure: return nil
            case .exec:
                guard let params = root["params"], let exec = ExecParams(fast: params) else { return nil }
                return .request(Request(id: id, body: .exec(exec)))
            case .cancel:
                guard let params = root["params"], let target = params["target"]?.uint64 else { return nil }
                var cancel = CancelParams(target: target)
                if let value = params["signal"] {
                    guard let signal = value.int64.flatMap({ Int32(exactly: $0) }) else { return nil }
                    cancel.signal = signal
                }
                if let value = params["killGraceMs"] {
                    guard let grace = value.int64.flatMap({ Int(exactly: $0) }) else { return nil }
                    cancel.killGraceMs = grace
                }
                return .request(Request(id: id, body: .cancel(cancel)))
            case .syncApply:
                // Megabytes of base64: parsed once here rather than once here and again by JSONDecoder.
                guard let params = root["params"], let path = params["root"]?.string,
                      let text = params["batch"]?.string, let batch = Data(base64Encoded: text) else { return nil }
                var apply = SyncApplyParams(root: path, batch: batch)
                if let value = params["save"] {
                    guard let save = value.bool else { return nil }
                    apply.save = save
                }
                if let value = params["sync"] {
                    guard let sync = value.string else { return nil }
                    apply.sync = sync
                }
                if let value = params["abort"] {
                    guard let abort = value.bool else { return nil }
                    apply.abort = abort
                }
                return .request(Request(id: id, body: .syncApply(apply)))
            default:
                return nil
            }
        default:
            return nil
        }
    }
}

extension ExecParams {
    init?(fast params: JSONValue) {
        guard case .array(let items) = params["argv"] else { return nil }
        var argv: [String] = []
        argv.reserveCapacity(items.count)
        for item in items {
            guard let s = item.string else { return nil }
            argv.append(s)
        }
        self.init(argv: argv)
        if let value = params["env"] {
            guard case .object(let members) = value else { return nil }
            var env: [String: String] = [:]
            for (k, v) in members {
                guard let s = v.string else { return nil }
                env[k] = s
            }
            self.env = env
        }
        if let value = params["clearEnv"] {
            guard let b = value.bool else { return nil }
            clearEnv = b
        }
        if let value = params["stdinStream"] {
            guard let b = value.bool else { return nil }
            stdinStream = b
        }
        if let value = params["unsetEnv"] {
            guard case .array(let names) = value else { return nil }
            var unset: [String] = []
            for name in names {
                guard let s = name.string else { return nil }
                unset.append(s)
            }
            unsetEnv = unset
        }
        if let value = params["cwd"] {
            guard let s = value.string else { return nil }
            cwd = s
        }
        if let value = params["stdin"] {
            guard let text = value.string, let data = Data(base64Encoded: text) else { return nil }
            stdin = data
        }
        if let value = params["timeoutMs"] {
            guard let ms = value.int64.flatMap({ Int(exactly: $0) }) else { return nil }
            timeoutMs = ms
        }
        if let value = params["killGraceMs"] {
            guard let ms = value.int64.flatMap({ Int(exactly: $0) }) else { return nil }
            killGraceMs = ms
        }
    }
}

extension AgentMessage {
    static func fastDecode(_ line: [UInt8]) -> AgentMessage? {
        guard let root = JSONScanner.parse(line), let type = root["type"]?.string, let seq = root["seq"]?.uint64 else { return nil }
        switch type {
        case "event":
            guard let id = root["id"]?.uint64, root["kind"]?.string == "output", let body = root["body"],
                  let stream = body["stream"]?.string.flatMap(OutputEvent.Stream.init(rawValue:)),
                  let text = body["data"]?.string, let data = Data(base64Encoded: text) else { return nil }
            return .event(Event(id: id, seq: seq, body: .output(OutputEvent(stream: stream, data: data))))
        case "reply":
            let id: UInt64?
            switch root["id"] {
            case nil, .null?: id = nil
            case let value?:
                guard let number = value.uint64 else { return nil }
                id = number
            }
            if let error = root["error"] {
                guard let code = error["code"]?.string, let message = error["message"]?.string else { return nil }
                return .reply(Reply(id: id, seq: seq, outcome: .failure(ProtocolError(ProtocolError.Code(code), message))))
            }
            guard let op = root["op"]?.string.flatMap(Operation.init(rawValue:)) else { return nil }
            switch op {
            case .mkdir, .write, .remove, .chmod, .chown, .symlink, .shutdown, .configure:
                return .reply(Reply(id: id, seq: seq, outcome: .success(.done(op))))
            case .ping:
                guard let ns = root["result"]?["monotonicNs"]?.uint64 else { return nil }
                return .reply(Reply(id: id, seq: seq, outcome: .success(.pong(PongResult(monotonicNs: ns)))))
            case .exec:
                guard let result = root["result"], let timedOut = result["timedOut"]?.bool,
                      let cancelled = result["cancelled"]?.bool, let duration = result["durationUs"]?.int64 else { return nil }
                var exit = ExecResult(exitCode: nil, signal: nil, timedOut: timedOut, cancelled: cancelled, durationUs: duration)
                if let value = result["exitCode"] {
                    guard let code = value.int64.flatMap({ Int32(exactly: $0) }) else { return nil }
                    exit.exitCode = code
                }
                if let value = result["signal"] {
                    guard let signal = value.int64.flatMap({ Int32(exactly: $0) }) else { return nil }
                    exit.signal = signal
                }
                return .reply(Reply(id: id, seq: seq, outcome: .success(.exec(exit))))
            default:
                return nil
            }
        default:
            return nil
        }
    }
}

extension ControllerMessage {
    /// The fast path alone, for the tests that compare it with Codable.
    public static func fastDecodeForTesting(_ line: [UInt8]) -> ControllerMessage? { fastDecode(line) }
}

extension AgentMessage {
    /// The fast path alone, for the tests that compare it with Codable.
    public static func fastDecodeForTesting(_ line: [UInt8]) -> AgentMessage? { fastDecode(line) }
}
