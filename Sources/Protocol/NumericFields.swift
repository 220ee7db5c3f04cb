/// One number a controller may send, and the values the agent accepts for it.
public struct NumericField: Sendable, Equatable, CustomStringConvertible {
    /// Where the number sits in its message, dot-separated: `id`, `params.offset`.
    public var path: String
    /// Every accepted value. None is negative, so the wire form of an accepted
    /// value is always plain decimal digits.
    public var range: ClosedRange<UInt64>
    /// Why the bound is what it is, for the error message and docs/protocol.md.
    public var note: String

    public init(_ path: String, _ range: ClosedRange<UInt64>, _ note: String) {
        self.path = path
        self.range = range
        self.note = note
    }

    public var description: String { "\(path) \(range.lowerBound)...\(range.upperBound)" }
}

/// Every numeric field of every controller message, with its range: the one
/// table the decoder (on the JSON, before any conversion) and
/// `RequestBody.validate()` (on typed values) both check against. The
/// ProtocolTests check that it lists every number the encoder can emit for a
/// sample of each message, so a new field cannot be left out.
public enum NumericFields {
    static let any = "any unsigned 64-bit value"
    static let duration = "at most 365 days, so that no deadline computed from it can overflow"
    static let mode = "permission bits"
    static let owner = "a uid or gid; 4294967295 (-1 to chown(2), 'unchanged') is refused: leave the field out instead"

    /// `id`, in every request.
    public static let requestID = NumericField("id", 0...UInt64.max, any)

    /// The numbers of `params`, per operation.
    public static func params(of op: Operation) -> [NumericField] {
        let durationRange: ClosedRange<UInt64> = 0...UInt64(ProtocolConstants.maxDurationMs)
        let modeRange: ClosedRange<UInt64> = 0...0o7777
        switch op {
        case .ping, .shutdown, .stat, .remove, .symlink, .list, .syncApply:
            return []
        case .exec:
            return [NumericField("params.timeoutMs", durationRange, duration),
                    NumericField("params.killGraceMs", durationRange, duration)]
        case .cancel:
            return [NumericField("params.target", 0...UInt64.max, any),
                    NumericField("params.signal", 1...64, "a Linux signal number"),
                    NumericField("params.killGraceMs", durationRange, duration)]
        case .mkdir, .write, .chmod:
            return [NumericField("params.mode", modeRange, mode)]
        case .read:
            return [NumericField("params.offset", 0...UInt64(ProtocolConstants.maxFileOffset), "at most 2^62, so that offset + length cannot overflow"),
                    NumericField("params.length", 0...UInt64(ProtocolConstants.maxFileOffset), "reads are cut to \(ProtocolConstants.maxChunkSize) bytes")]
        case .chown:
            return [NumericField("params.uid", 0...UInt64(UInt32.max - 1), owner),
                    NumericField("params.gid", 0...UInt64(UInt32.max - 1), owner)]
        case .stdin:
            return [NumericField("params.target", 0...UInt64.max, any)]
        case .syncScan:
            return [NumericField("params.inlineLimit", 0...UInt64(ProtocolConstants.maxInlineManifest), "the largest manifest returned inline"),
                    NumericField("params.waitMs", 0...UInt64(ProtocolConstants.maxSyncWaitMs), "the longest one scan waits for another sync's lock")]
        case .configure:
            return [NumericField("params.idleTimeoutSeconds", 0...31_536_000, "at most 365 days (0: never)")]
        }
    }

    /// Every number of a request for `op`: its id and its parameters.
    public static func request(_ op: Operation) -> [NumericField] { [requestID] + params(of: op) }

    /// The numbers of `ack`.
    public static let ack = [NumericField("seq", 0...UInt64.max, any)]

    /// The numbers of the controller's hello.
    public static let hello = [
        NumericField("version", 0...UInt64(Int32.max), "the protocol version"),
        NumericField("window", 0...UInt64(Int64.max), "the agent lowers it to its own maximum"),
        NumericField("resume.ack", 0...UInt64.max, any),
    ]

    /// The first number of a parsed controller message outside its field's
    /// range (or not a plain integer), as the error for that message.
    static func check(_ root: JSONValue) -> MessageCodec.LineError? {
        let fields: [NumericField]
        var id: UInt64?
        switch root["type"]?.string {
        case "request":
            guard let op = root["op"]?.string.flatMap(Operation.init(rawValue:)) else {
                return firstViolation([requestID], root).map { MessageCodec.LineError(id: nil, error: $0.1) }
            }
            fields = request(op)
            id = root["id"]?.uint64
        case "ack": fields = ack
        case "hello": fields = hello
        default: return nil
        }
        guard let (field, error) = firstViolation(fields, root) else { return nil }
        // An id that is itself out of range cannot be echoed.
        return MessageCodec.LineError(id: field == requestID ? nil : id, error: error)
    }

    private static func firstViolation(_ fields: [NumericField], _ root: JSONValue) -> (NumericField, ProtocolError)? {
        for field in fields {
            var value: JSONValue? = root
            for key in field.path.split(separator: ".") { value = value?[String(key)] }
            guard case .number(let text)? = value else { continue }
            if let error = check(text, field) { return (field, error) }
        }
        return nil
    }

    /// Nil when `text` (a JSON number) is a plain integer in `field`'s range.
    static func check(_ text: String, _ field: NumericField) -> ProtocolError? {
        let digits = text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        let negativeInteger = text.hasPrefix("-") && text.utf8.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        guard digits || negativeInteger else {
            return ProtocolError(.invalidField, "\(field.path): \(text) is not a whole number; give an integer from \(field.range.lowerBound) to \(field.range.upperBound) without fraction or exponent")
        }
        guard digits, let value = UInt64(text), field.range.contains(value) else {
            return outOfRange(text, field)
        }
        return nil
    }

    static func outOfRange(_ value: String, _ field: NumericField) -> ProtocolError {
        ProtocolError(.invalidField, "\(field.path): \(value) is outside \(field.range.lowerBound)...\(field.range.upperBound) (\(field.note))")
    }
}

extension RequestBody {
    /// The numbers this request carries, by the paths of `NumericFields`.
    /// Int128 holds every Swift integer type's values exactly.
    public var numericValues: [String: Int128] {
        var values: [String: Int128] = [:]
        func add<I: BinaryInteger>(_ path: String, _ value: I?) {
            if let value { values[path] = Int128(value) }
        }
        switch self {
        case .ping, .shutdown, .stat, .remove, .symlink, .list, .syncApply:
            break
        case .exec(let p):
            add("params.timeoutMs", p.timeoutMs)
            add("params.killGraceMs", p.killGraceMs)
        case .cancel(let p):
            add("params.target", p.target)
            add("params.signal", p.signal)
            add("params.killGraceMs", p.killGraceMs)
        case .mkdir(let p): add("params.mode", p.mode)
        case .write(let p): add("params.mode", p.mode)
        case .chmod(let p): add("params.mode", p.mode)
        case .read(let p):
            add("params.offset", p.offset)
            add("params.length", p.length)
        case .chown(let p):
            add("params.uid", p.uid)
            add("params.gid", p.gid)
        case .stdin(let p): add("params.target", p.target)
        case .syncScan(let p):
            add("params.inlineLimit", p.inlineLimit)
            add("params.waitMs", p.waitMs)
        case .configure(let p): add("params.idleTimeoutSeconds", p.idleTimeoutSeconds)
        }
        return values
    }

    /// Checks every number against `NumericFields`, for requests built in
    /// process as much as for decoded ones.
    func validateNumbers() throws(ProtocolError) {
        let values = numericValues
        for field in NumericFields.params(of: operation) {
            guard let value = values[field.path] else { continue }
            guard value >= Int128(field.range.lowerBound), value <= Int128(field.range.upperBound) else {
                throw NumericFields.outOfRange("\(value)", field)
            }
        }
    }
}
