import FoundationEssentials

extension ControllerMessage: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: WireKey.self)
        let type: String
        do {
            type = try c.decode(String.self, forKey: .type)
        } catch {
            throw AttributedError(id: nil, error: ProtocolError(.badMessage, "a message needs a string field 'type'"))
        }
        switch type {
        case "hello":
            self = .hello(try ControllerHello(from: decoder))
        case "bye":
            self = .bye
        case "ack":
            do {
                self = .ack(seq: try c.decode(UInt64.self, forKey: .seq))
            } catch let error as DecodingError {
                throw AttributedError(id: nil, error: ProtocolError(fieldDecoding: error))
            }
        case "request":
            let id: UInt64
            do {
                id = try c.decode(UInt64.self, forKey: .id)
            } catch {
                throw AttributedError(id: nil, error: ProtocolError(.invalidField, "a request needs 'id', an unsigned integer"))
            }
            do {
                self = .request(Request(id: id, body: try Self.decodeBody(c)))
            } catch let error as DecodingError {
                throw AttributedError(id: id, error: ProtocolError(fieldDecoding: error))
            } catch let error as ProtocolError {
                throw AttributedError(id: id, error: error)
            }
        default:
            throw AttributedError(id: nil, error: ProtocolError(.unknownType, "unknown message type '\(type)'"))
        }
    }

    private static func decodeBody(_ c: KeyedDecodingContainer<WireKey>) throws -> RequestBody {
        let name = try c.decode(String.self, forKey: .op)
        guard let op = Operation(rawValue: name) else {
            throw ProtocolError(.unknownOperation, "unknown operation '\(name)'")
        }
        func params<P: Decodable>(_: P.Type) throws -> P { try c.decode(P.self, forKey: .params) }
        switch op {
        case .ping: return .ping
        case .shutdown: return .shutdown
        case .exec: return .exec(try params(ExecParams.self))
        case .cancel: return .cancel(try params(CancelParams.self))
        case .stat: return .stat(try params(StatParams.self))
        case .mkdir: return .mkdir(try params(MkdirParams.self))
        case .write: return .write(try params(WriteParams.self))
        case .read: return .read(try params(ReadParams.self))
        case .remove: return .remove(try params(RemoveParams.self))
        case .chmod: return .chmod(try params(ChmodParams.self))
        case .chown: return .chown(try params(ChownParams.self))
        case .symlink: return .symlink(try params(SymlinkParams.self))
        case .list: return .list(try params(ListParams.self))
        case .stdin: return .stdin(try params(StdinParams.self))
        case .syncScan: return .syncScan(try params(SyncScanParams.self))
        case .syncApply: return .syncApply(try params(SyncApplyParams.self))
        case .configure: return .configure(try params(ConfigureParams.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .hello(let hello):
            var c = encoder.container(keyedBy: WireKey.self)
            try c.encode("hello", forKey: .type)
            try hello.encode(to: encoder)
        case .bye:
            var c = encoder.container(keyedBy: WireKey.self)
            try c.encode("bye", forKey: .type)
        case .ack(let seq):
            var c = encoder.container(keyedBy: WireKey.self)
            try c.encode("ack", forKey: .type)
            try c.encode(seq, forKey: .seq)
        case .request(let request):
            var c = encoder.container(keyedBy: WireKey.self)
            try c.encode("request", forKey: .type)
            try c.encode(request.id, forKey: .id)
            try c.encode(request.body.operation.rawValue, forKey: .op)
            switch request.body {
            case .ping, .shutdown: break
            case .exec(let p): try c.encode(p, forKey: .params)
            case .cancel(let p): try c.encode(p, forKey: .params)
            case .stat(let p): try c.encode(p, forKey: .params)
            case .mkdir(let p): try c.encode(p, forKey: .params)
            case .write(let p): try c.encode(p, forKey: .params)
            case .read(let p): try c.encode(p, forKey: .params)
            case .remove(let p): try c.encode(p, forKey: .params)
            case .chmod(let p): try c.encode(p, forKey: .params)
            case .chown(let p): try c.encode(p, forKey: .params)
            case .symlink(let p): try c.encode(p, forKey: .params)
            case .list(let p): try c.encode(p, forKey: .params)
            case .stdin(let p): try c.encode(p, forKey: .params)
            case .syncScan(let p): try c.encode(p, forKey: .params)
            case .configure(let p): try c.encode(p, forKey: .params)
            case .syncApply(let p): try c.encode(p, forKey: .params)
            }
        }
    }
}
