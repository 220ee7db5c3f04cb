/// Splits a byte stream into `\n`-terminated lines and enforces the length limit.
///
/// An oversized line is reported once and skipped up to its newline, so one bad
/// line never desynchronises the stream. I/O-free: feed it whatever a read returned.
public struct LineFramer: Sendable {
    public enum Item: Equatable, Sendable {
        /// A complete line, without its newline.
        case line([UInt8])
        /// A line longer than the limit was dropped; `length` counts what was seen of it.
        case oversized(length: Int)
    }

    public let maxLineLength: Int
    private var buffer: [UInt8] = []
    private var discarding = false
    private var discarded = 0

    public init(maxLineLength: Int = ProtocolConstants.maxLineLength) {
        precondition(maxLineLength > 0)
        self.maxLineLength = maxLineLength
    }

    /// Bytes held for a line not yet complete.
    public var pendingCount: Int { buffer.count }

    /// Feeds bytes; calls `emit` for every complete line or oversized line, in order.
    public mutating func push(_ bytes: UnsafeRawBufferPointer, _ emit: (Item) throws -> Void) rethrows {
        var start = 0
        let count = bytes.count
        while start < count {
            let newline = Self.findNewline(bytes, from: start)
            let end = newline ?? count
            let piece = end - start
            if discarding {
                discarded += piece
            } else if buffer.count + piece > maxLineLength {
                discarding = true
                discarded = buffer.count + piece
                buffer.removeAll(keepingCapacity: false)
            } else if newline != nil && buffer.isEmpty {
                try emit(.line(Array(bytes[start..<end])))
            } else {
                buffer.append(contentsOf: bytes[start..<end])
                if newline != nil {
                    let line = buffer
                    buffer.removeAll(keepingCapacity: true)
                    try emit(.line(line))
                }
            }
            guard let newline else { return }
            if discarding {
                discarding = false
                let length = discarded
                discarded = 0
                try emit(.oversized(length: length))
            }
            start = newline + 1
        }
    }

    /// Convenience for arrays.
    public mutating func push(_ bytes: [UInt8], _ emit: (Item) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { try push($0, emit) }
    }

    /// At end of stream: the unterminated tail, if any (a truncated line).
    public mutating func finish() -> Item? {
        defer {
            buffer.removeAll()
            discarding = false
            discarded = 0
        }
        if discarding { return .oversized(length: discarded) }
        return buffer.isEmpty ? nil : .line(buffer)
    }

    /// True for an empty or whitespace-only line, which the protocol ignores.
    public static func isBlank(_ line: [UInt8]) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    private static func findNewline(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        let n = bytes.count
        while i < n {
            if bytes[i] == 0x0A { return i }
            i += 1
        }
        return nil
    }
}
