/// Top-level keys of every message on the wire.
enum WireKey: String, CodingKey {
    case type, id, seq, op, params, result, error, kind, body
}

/// A decoding failure that already knows which request it belongs to.
struct AttributedError: Error {
    var id: UInt64?
    var error: ProtocolError
}
