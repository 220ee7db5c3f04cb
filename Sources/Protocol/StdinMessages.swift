import FoundationEssentials

/// More stdin for a running exec started with `stdinStream`; `eof` closes it.
/// The reply comes once these bytes are in the process's stdin pipe, so a
/// controller that waits for it before sending more is flow-controlled by
/// the process itself.
public struct StdinParams: Codable, Sendable, Equatable {
    /// The id of the exec request.
    public var target: UInt64
    /// At most `ProtocolConstants.maxChunkSize` bytes.
    public var data: Data?
    public var eof: Bool?

    public init(target: UInt64, data: Data? = nil, eof: Bool? = nil) {
        self.target = target
        self.data = data
        self.eof = eof
    }
}

public struct StdinResult: Codable, Sendable, Equatable {
    /// Bytes of this request written to the pipe.
    public var written: Int64
    /// The process closed its stdin (or ended): the rest was discarded; send no more.
    public var closed: Bool

    public init(written: Int64, closed: Bool) {
        self.written = written
        self.closed = closed
    }
}
