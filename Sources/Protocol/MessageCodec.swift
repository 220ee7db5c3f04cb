import FoundationEssentials

/// Encodes messages to lines and decodes lines to messages, turning every kind of
/// bad input into a `ProtocolError` with a stable code. Not thread-safe: one per
/// reader or writer.
public struct MessageCodec {
    /// Why a line could not be decoded, and the request it belongs to when known.
    public struct LineError: Error, Equatable, Sendable {
        public var id: UInt64?
        public var error: ProtocolError
    }

    private let encoder: JSONEncoder
    private let decoder: JSONDecoder
    public let maxLineLength: Int

    public init(maxLineLength: Int = ProtocolConstants.maxLineLength) {
        encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        decoder = JSONDecoder()
        self.maxLineLength = maxLineLength
    }

    /// The line for an agent message, newline included.
    public func encodeLine(_ message: AgentMessage) throws -> [UInt8] {
        if let line = message.fastLine() { return try checked(line) }
        return try encodeWithCodable(message)
    }

    /// The line for a controller message, newline included.
    public func encodeLine(_ message: ControllerMessage) throws -> [UInt8] {
        if let line = message.fastLine() { return try checked(line) }
        return try encodeWithCodable(message)
    }

    private func checked(_ line: [UInt8]) throws -> [UInt8] {
        guard line.count - 1 <= maxLineLength else {
            throw ProtocolError(.tooLarge, "message of \(line.count - 1) bytes exceeds the \(maxLineLength)-byte line limit")
        }
        return line
    }

    /// The line through Codable (no fast path); tests compare both.
    public func encodeWithCodable<M: Encodable>(_ message: M) throws -> [UInt8] {
        var bytes = [UInt8](try encoder.encode(message))
        guard bytes.count <= maxLineLength else {
            throw ProtocolError(.tooLarge, "message of \(bytes.count) bytes exceeds the \(maxLineLength)-byte line limit")
        }
        bytes.append(0x0A)
        return bytes
    }

    /// Decodes what the agent receives.
    /// Every number is checked against `NumericFields` on the parsed JSON,
    /// before anything converts it, so an out-of-range value is refused
    /// naming its field (and the request's id) instead of being cut, trapped
    /// on, or reported by Foundation without a coding path.
    public func decodeControllerLine(_ line: [UInt8]) -> Result<ControllerMessage, LineError> {
        guard String(validating: line, as: UTF8.self) != nil else { return .failure(Self.notUTF8) }
        let root = JSONScanner.parse(line)
        if let root {
            if let failure = NumericFields.check(root) { return .failure(failure) }
            if let message = ControllerMessage.fastDecode(root) { return .success(message) }
        }
        return Self.attributed(decodeWithCodable(ControllerMessage.self, line), root)
    }

    /// Foundation's decoder rejects a number out of its field's range (`-1`
    /// for an unsigned field, `1e308` for an integer) as "not valid JSON",
    /// without a coding path, before any of our code sees the message. When
    /// the line is in fact valid JSON, that is a bad field value of the
    /// request the line names: `invalid_field` with its id.
    private static func attributed(_ result: Result<ControllerMessage, LineError>, _ root: JSONValue?) -> Result<ControllerMessage, LineError> {
        guard case .failure(let failure) = result, failure.error.code == .badJSON,
              let root, case .object = root else { return result }
        let id = root["type"]?.string == "request" ? root["id"]?.uint64 : nil
        let detail = failure.error.message.hasPrefix("not valid JSON: ") ? String(failure.error.message.dropFirst(16)) : failure.error.message
        return .failure(LineError(id: id, error: ProtocolError(.invalidField, "a number is outside the range of its field (a negative id, mode, uid or seq, or a fraction or exponent too large for an integer): \(detail)")))
    }

    /// Decodes what the controller receives.
    public func decodeAgentLine(_ line: [UInt8]) -> Result<AgentMessage, LineError> {
        guard String(validating: line, as: UTF8.self) != nil else { return .failure(Self.notUTF8) }
        if let message = AgentMessage.fastDecode(line) { return .success(message) }
        return decodeWithCodable(AgentMessage.self, line)
    }

    /// Decoding through Codable only (no fast path); tests compare both.
    public func decodeWithCodable<M: Decodable>(_ type: M.Type, _ line: [UInt8]) -> Result<M, LineError> {
        // Checked first so that bad bytes get their own code rather than a parse error.
        guard String(validating: line, as: UTF8.self) != nil else { return .failure(Self.notUTF8) }
        do {
            return .success(try decoder.decode(M.self, from: Data(line)))
        } catch let error as AttributedError {
            return .failure(LineError(id: error.id, error: error.error))
        } catch let error as ProtocolError {
            return .failure(LineError(id: nil, error: error))
        } catch let error as DecodingError {
            return .failure(LineError(id: nil, error: ProtocolError(decoding: error)))
        } catch {
            return .failure(LineError(id: nil, error: ProtocolError(.badJSON, "\(error)")))
        }
    }

    private static let notUTF8 = LineError(id: nil, error: ProtocolError(.badUTF8, "line is not valid UTF-8"))

    /// The error for a dropped oversized line.
    public func oversizedLineError(length: Int) -> ProtocolError {
        ProtocolError(.lineTooLong, "line of \(length) bytes exceeds the \(maxLineLength)-byte limit")
    }
}

extension ProtocolError {
    /// Maps Codable's errors onto stable codes, naming the offending field.
    init(decoding error: DecodingError) {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            self.init(.missingField, "missing field '\(parent.isEmpty ? "" : parent + ".")\(key.stringValue)'")
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty {
                self.init(.badMessage, "a message must be a JSON object")
            } else {
                self.init(.invalidField, "field '\(path(context))': expected \(Self.describe(type))")
            }
        case .valueNotFound(_, let context) where context.codingPath.isEmpty:
            self.init(.badMessage, "a message must be a JSON object, not null")
        case .valueNotFound(let type, let context):
            self.init(.invalidField, "field '\(path(context))': expected \(Self.describe(type)), got null")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                self.init(.badJSON, "not valid JSON: \(context.debugDescription)")
            } else {
                self.init(.invalidField, "field '\(path(context))': \(context.debugDescription)")
            }
        @unknown default:
            self.init(.badJSON, "\(error)")
        }
    }

    /// For an error inside a message whose JSON already parsed (its `type` was
    /// read): Foundation reports an out-of-range number (`-1` for an unsigned
    /// field, `1e308` for an integer) without a coding path, which would read
    /// as `bad_json`; here it is a bad field value.
    init(fieldDecoding error: DecodingError) {
        self.init(decoding: error)
        if code == .badJSON || code == .badMessage {
            self = ProtocolError(.invalidField, message.hasPrefix("not valid JSON: ") ? "a field has an invalid value: " + message.dropFirst(16) : message)
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is UInt64.Type, is UInt32.Type: "an unsigned integer"
        case is Int.Type, is Int32.Type, is Int64.Type: "an integer"
        case is Data.Type: "base64 text"
        default: "\(type)"
        }
    }
}
