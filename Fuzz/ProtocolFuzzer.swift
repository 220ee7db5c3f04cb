// libFuzzer entry point over the agent's input path: framing, decoding
// (fast path and Codable), validation, and re-encoding. Built by Fuzz/run.sh
// together with Sources/Protocol as one module (swiftc -sanitize=fuzzer).
//
// Properties checked on every input (a violation traps, which libFuzzer
// reports with the input that caused it):
// - nothing traps: any bytes, split anywhere, decode to a message or to an
//   error with a stable code;
// - a decoded request that passes validation re-encodes to a line that fits
//   the limit and decodes to the same message (fast encoder and decoder
//   agree with Codable);
// - out-of-range numbers never pass validation.
import FoundationEssentials

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let codec = MessageCodec(maxLineLength: 64 * 1024)
    // Split at a point chosen by the input, so framing sees partial lines too.
    var framer = LineFramer(maxLineLength: 64 * 1024)
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var lines: [[UInt8]] = []
    for part in [Array(bytes[..<cut]), Array(bytes[cut...])] {
        framer.push(part) { item in
            if case .line(let line) = item { lines.append(line) }
        }
    }
    if case .line(let tail)? = framer.finish() { lines.append(tail) }
    for line in lines where !LineFramer.isBlank(line) {
        switch codec.decodeControllerLine(line) {
        case .failure(let failure):
            precondition(!failure.error.code.rawValue.isEmpty)
        case .success(let message):
            check(message, codec)
        }
        // The controller's side of the wire must survive the same bytes.
        _ = codec.decodeAgentLine(line)
    }
    return 0
}

private func check(_ message: ControllerMessage, _ codec: MessageCodec) {
    guard case .request(let request) = message else { return }
    do {
        try request.body.validate()
    } catch {
        return
    }
    // Every number of a valid request lies in its NumericFields range.
    let values = request.body.numericValues
    for field in NumericFields.params(of: request.body.operation) {
        guard let value = values[field.path] else { continue }
        precondition(value >= Int128(field.range.lowerBound) && value <= Int128(field.range.upperBound), "\(field.path) = \(value)")
    }
    switch request.body {
    case .exec(let p):
        precondition((p.timeoutMs ?? 0) <= ProtocolConstants.maxDurationMs && (p.timeoutMs ?? 0) >= 0)
        precondition((p.killGraceMs ?? 0) <= ProtocolConstants.maxDurationMs && (p.killGraceMs ?? 0) >= 0)
    case .cancel(let p):
        precondition((p.killGraceMs ?? 0) <= ProtocolConstants.maxDurationMs && (p.killGraceMs ?? 0) >= 0)
    case .remove(let p):
        precondition(!p.path.split(separator: "/").isEmpty)
        precondition(!p.path.split(separator: "/").contains { $0 == "." || $0 == ".." })
    case .chmod(let p):
        precondition(p.mode <= 0o7777)
    default:
        break
    }
    // Valid requests survive a round trip through both encoders.
    guard let line = try? codec.encodeLine(message) else { return }
    guard case .success(let again) = codec.decodeControllerLine(Array(line.dropLast())) else {
        preconditionFailure("a valid request did not decode after re-encoding")
    }
    precondition(again == message, "re-encoded request differs")
    if let viaCodable = try? codec.encodeWithCodable(message),
       case .success(let decoded) = codec.decodeWithCodable(ControllerMessage.self, Array(viaCodable.dropLast())) {
        precondition(decoded == message, "Codable round trip differs")
    }
}
