/// An error from the SSH layer: what failed, where, and what to do about it.
///
/// The message is written for the person at the terminal; `code` is stable
/// for callers that branch on the kind of failure, and `libssh2Code` keeps the
/// underlying library error when there is one.
public struct SSHError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        case connectFailed
        case timedOut
        case handshakeFailed
        case hostKeyMismatch
        case hostKeyUnknown
        case authenticationFailed
        case unsupportedKey
        case channelFailed
        case sftpFailed
        /// The connection broke or was closed; pending work cannot complete.
        case disconnected
        case closed
        case invalidArgument
    }

    /// The kind of failure.
    public var code: Code
    /// A human message naming the host, key, path or fingerprint involved.
    public var message: String
    /// The libssh2 error code (negative), when libssh2 reported one.
    public var libssh2Code: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, libssh2Code: Int32? = nil) {
        self.code = code
        self.message = message
        self.libssh2Code = libssh2Code
    }

    public var description: String { message }

    /// Whether this error means the whole connection is unusable.
    public var isTransportFailure: Bool {
        code == .disconnected || code == .closed || code == .timedOut || code == .connectFailed
    }
}
