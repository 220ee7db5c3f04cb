/// Version and limits shared by both ends of the wire.
public enum ProtocolConstants {
    /// The protocol version this build speaks. Both sides refuse a peer with another one.
    public static let version = 1
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
}
