/// Cuts a byte stream that arrives in arbitrary chunks into lines.
public struct LineSplitter: Sendable {
    private var buffer: [UInt8] = []
    /// Lines longer than this are cut, so one endless line cannot grow memory.
    public let maxLineBytes: Int

    /// Creates a splitter.
    public init(maxLineBytes: Int = 4 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds a chunk; returns the complete lines it finished (without `\n`, `\r\n`).
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(take())
            } else {
                buffer.append(byte)
                if buffer.count >= maxLineBytes { lines.append(take()) }
            }
        }
        return lines
    }

    /// Returns the unterminated rest, if any, at the end of the stream.
    public mutating func finish() -> String? {
        buffer.isEmpty ? nil : take()
    }

    private mutating func take() -> String {
        if buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
        let line = String(decoding: buffer, as: UTF8.self)
        buffer.removeAll(keepingCapacity: true)
        return line
    }
}
