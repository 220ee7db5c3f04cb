import FoundationEssentials

extension AgentMessage: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: WireKey.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "hello":
            self = .hello(try AgentHello(from: decoder))
        case "event":
            let id = try c.decode(UInt64.self, forKey: .id)
            let seq = try c.decode(UInt64.self, forKey: .seq)
            let kind = try c.decode(String.self, forKey: .kind)
            let body: EventBody
            switch kind {
            case "started": body = .started(try c.decode(StartedEvent.self, forKey: .body))
            case "output": body = .output(try c.decode(OutputEvent.self, forKey: .body))
            default:
                throw ProtocolError(.unknownType, "unknown event kind '\(kind)'")
            }
            self = .event(Event(id: id, seq: seq, body: body))
        case "reply":
            let id = try c.decodeIfPresent(UInt64.self, forKey: .id)
            let seq = try c.decode(UInt64.self, forKey: .seq)
            if let error = try c.decodeIfPresent(ProtocolError.self, forKey: .error) {
                self = .reply(Reply(id: id, seq: seq, outcome: .failure(error)))
                return
            }
            let name = try c.decode(String.self, forKey: .op)
            guard let op = Operation(rawValue: name) else {
                throw ProtocolError(.unknownOperation, "reply for unknown operation '\(name)'")
            }
            let body: ReplyBody
            switch op {
            case .ping: body = .pong(try c.decode(PongResult.self, forKey: .result))
            case .exec: body = .exec(try c.decode(ExecResult.self, forKey: .result))
            case .cancel: body = .cancel(try c.decode(CancelResult.self, forKey: .result))
            case .stat: body = .stat(try c.decode(FileInfo.self, forKey: .result))
            case .read: body = .read(try c.decode(ReadResult.self, forKey: .result))
            case .list: body = .list(try c.decode(ListResult.self, forKey: .result))
            case .stdin: body = .stdin(try c.decode(StdinResult.self, forKey: .result))
            case .syncScan: body = .syncScan(try c.decode(SyncScanResult.self, forKey: .result))
            case .syncApply: body = .syncApply(try c.decode(SyncApplyResult.self, forKey: .result))
            case .mkdir, .write, .remove, .chmod, .chown, .symlink, .shutdown, .configure: body = .done(op)
            }
            self = .reply(Reply(id: id, seq: seq, outcome: .success(body)))
        default:
            throw ProtocolError(.unknownType, "unknown message type '\(type)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: WireKey.self)
        switch self {
        case .hello(let hello):
            try c.encode("hello", forKey: .type)
            try hello.encode(to: encoder)
        case .event(let event):
            try c.encode("event", forKey: .type)
            try c.encode(event.id, forKey: .id)
            try c.encode(event.seq, forKey: .seq)
            try c.encode(event.body.kind, forKey: .kind)
            switch event.body {
            case .started(let b): try c.encode(b, forKey: .body)
            case .output(let b): try c.encode(b, forKey: .body)
            }
        case .reply(let reply):
            try c.encode("reply", forKey: .type)
            try c.encode(reply.id, forKey: .id)
            try c.encode(reply.seq, forKey: .seq)
            switch reply.outcome {
            case .failure(let error):
                try c.encode(error, forKey: .error)
            case .success(let body):
                try c.encode(body.operation.rawValue, forKey: .op)
                switch body {
                case .done: try c.encode(NoParams(), forKey: .result)
                case .pong(let r): try c.encode(r, forKey: .result)
                case .exec(let r): try c.encode(r, forKey: .result)
                case .cancel(let r): try c.encode(r, forKey: .result)
                case .stat(let r): try c.encode(r, forKey: .result)
                case .read(let r): try c.encode(r, forKey: .result)
                case .list(let r): try c.encode(r, forKey: .result)
                case .stdin(let r): try c.encode(r, forKey: .result)
                case .syncScan(let r): try c.encode(r, forKey: .result)
                case .syncApply(let r): try c.encode(r, forKey: .result)
                }
            }
        }
    }
}
