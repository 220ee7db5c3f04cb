/// Keeps the last `limit` bytes of a test's output, for failure details.
public struct OutputTail: Sendable {
    private var bytes: [UInt8] = []
    private var dropped = 0
    /// How many bytes are kept.
    public let limit: Int

    /// Creates an empty tail.
    public init(limit: Int = 16 * 1024) {
        self.limit = limit
    }

    /// Appends output.
    public mutating func append(_ chunk: some Collection<UInt8>) {
        bytes.append(contentsOf: chunk)
        if bytes.count > limit * 2 {
            dropped += bytes.count - limit
            bytes.removeFirst(bytes.count - limit)
        }
    }

    /// The kept text, marked when the start was cut.
    public var text: String {
        var kept = bytes
        var cut = dropped
        if kept.count > limit {
            cut += kept.count - limit
            kept.removeFirst(kept.count - limit)
        }
        let body = String(decoding: kept, as: UTF8.self)
        return cut > 0 ? "[… \(cut) bytes cut …]\n" + body : body
    }
}
