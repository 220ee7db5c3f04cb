/// An open SSH channel carrying a byte stream: a remote command's stdio or a
/// direct-tcpip connection to a port on the remote host.
///
/// Inbound bytes are delivered on the connection's I/O thread, in order and
/// never concurrently. `send` may be called from any thread.
public final class SSHChannel: @unchecked Sendable {
    /// Which stream a chunk came from.
    public enum Stream: Int32, Sendable {
        case stdout = 0
        case stderr = 1
    }

    /// How a channel ended.
    public struct End: Sendable {
        /// The remote command's exit status, when it exited normally.
        public var exitStatus: Int32?
        /// The signal that ended the remote command (e.g. "KILL"), if any.
        public var exitSignal: String?
        /// Set when the channel ended because the connection failed.
        public var error: SSHError?
    }

    let state: SSHStreamState
    private let loop: SSHLoop

    init(state: SSHStreamState, loop: SSHLoop) {
        self.state = state
        self.loop = loop
    }

    deinit { close() }

    /// A name for messages, e.g. "direct-tcpip 127.0.0.1:4242 on user@host:22".
    public var name: String { state.name }

    /// Starts delivering inbound data. Call once; nothing is read before.
    public func start(onData: @escaping @Sendable (UnsafeRawBufferPointer, Stream) -> Void,
                      onEnd: @escaping @Sendable (End) -> Void) {
        state.start(onData: onData, onEnd: onEnd)
        loop.streamNeedsService()
    }

    /// Queues bytes for sending. Blocks only while more than a few MB are queued.
    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        try state.send(bytes)
        loop.streamNeedsService()
    }

    /// Queues bytes for sending.
    public func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try send($0) }
    }

    /// Signals end of input to the remote side after queued bytes are sent.
    public func sendEOF() {
        state.requestEOF()
        loop.streamNeedsService()
    }

    /// Closes the channel; `onEnd` runs once the remote side confirms.
    public func close() {
        state.requestClose()
        loop.streamNeedsService()
    }
}
