/// Version and limits shared by both ends of the wire.
public enum ProtocolConstants {
    /// The protocol version this build speaks. Both sides refuse a peer with another one.
    public static let version = 2
    /// Longest line, in bytes without the newline, that either side accepts.
    public static let maxLineLength = 4 * 1024 * 1024
    /// Largest chunk of file content or process output carried by one message.
    /// Base64 grows it by a third, which keeps every message well under `maxLineLength`.
    public static let maxChunkSize = 1024 * 1024
    /// Largest stdin an exec request carries (its base64 must fit in one line).
    public static let maxExecStdin = 3 * 1024 * 1024
    /// Bytes of unacknowledged events the agent lets build up before it stops
    /// reading process output (the flow-control window).
    public static let defaultWindow = 8 * 1024 * 1024
    /// Longest `timeoutMs` or `killGraceMs` accepted: 365 days. Bounded so that
    /// a deadline in nanoseconds on a monotonic clock can never overflow.
    public static let maxDurationMs = 365 * 24 * 3600 * 1000
    /// Largest `fs.read` offset accepted (2^62), so offset + length cannot overflow.
    public static let maxFileOffset: Int64 = 1 << 62
}
