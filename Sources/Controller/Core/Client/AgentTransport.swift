/// A byte stream to one agent session: the agent's stdin/stdout for the `local`
/// target, a direct-tcpip channel over SSH for `ssh://` targets.
///
/// Inbound bytes are pushed to a sink from the transport's own I/O thread, so a
/// transport never blocks the cooperative thread pool. Memory stays bounded
/// without an inbound pause: the agent stops producing output once its window
/// of unacknowledged bytes is full (see docs/protocol.md, "Flow control").
public protocol AgentTransport: AnyObject, Sendable {
    /// Starts delivering inbound bytes to `sink`. Called exactly once.
    func start(_ sink: any TransportSink)
    /// Sends bytes, in order. May block while the peer drains, so
    /// `AgentClient` calls it only from its own serial outbox queue, never
    /// from the cooperative pool; throws once the transport is closed or broken.
    func send(_ bytes: [UInt8]) throws
    /// Closes the stream. The sink then receives `transportClosed` once.
    func close()
}

/// Receives what a transport reads.
public protocol TransportSink: AnyObject, Sendable {
    /// Called with each chunk read, in order, never concurrently.
    func transportReceived(_ bytes: UnsafeRawBufferPointer)
    /// Called once when the stream ends: `nil` for a clean EOF, else the reason.
    func transportClosed(error: (any Error)?)
}
