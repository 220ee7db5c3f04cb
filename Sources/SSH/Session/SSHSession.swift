import CLibSSH2
import Logging

/// One authenticated SSH connection, with its own I/O thread.
///
/// Channels (commands, direct-tcpip tunnels) and SFTP share the connection;
/// any number may be open at once. Closing the session, or losing the
/// connection, ends every channel with an error instead of leaving it hanging.
public final class SSHSession: @unchecked Sendable {
    /// Where this session is connected.
    public let endpoint: SSHEndpoint
    /// Host key, credential and banner of the connection.
    public let info: SSHConnectionInfo
    let loop: SSHLoop

    private init(endpoint: SSHEndpoint, info: SSHConnectionInfo, loop: SSHLoop) {
        self.endpoint = endpoint
        self.info = info
        self.loop = loop
    }

    deinit { loop.requestStop() }

    /// Connects, verifies the host key and authenticates.
    public static func connect(to endpoint: SSHEndpoint, configuration: SSHConfiguration,
                               logger: Logger) async throws -> SSHSession {
        let loop = SSHLoop(label: endpoint.description, configuration: configuration, logger: logger)
        let info = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SSHConnectionInfo, any Error>) in
            loop.start(establish: { try $0.establish(endpoint) }) { result in
                continuation.resume(with: result.mapError { $0 as any Error })
            }
        }
        return SSHSession(endpoint: endpoint, info: info, loop: loop)
    }

    /// The error that ended the connection, or nil while it is up.
    public var terminalError: SSHError? { loop.terminalError }

    /// Closes every channel and the connection.
    public func close() { loop.requestStop() }

    /// Starts `command` (a shell command line, as with `ssh host command`).
    public func openExec(_ command: String) async throws -> SSHChannel {
        let name = "command on \(endpoint)"
        let state = try await loop.perform("starting a command") { loop -> SSHStreamState? in
            try loop.openSessionChannel(command: command, name: name)
        }
        return SSHChannel(state: state, loop: loop)
    }

    /// Opens a direct-tcpip channel to `host:port` as seen from the server.
    public func openDirectTCPIP(host: String, port: Int) async throws -> SSHChannel {
        let name = "tunnel to \(host):\(port) on \(endpoint)"
        let state = try await loop.perform("opening a tunnel to \(host):\(port)") { loop -> SSHStreamState? in
            guard let session = loop.session else { throw SSHError(.closed, "\(name): the connection is closed.") }
            guard let channel = cssh2_channel_direct_tcpip(session, host, Int32(port)) else {
                let rc = libssh2_session_last_errno(session)
                if rc == LIBSSH2_ERROR_EAGAIN { return nil }
                throw loop.makeError(.channelFailed, "opening a tunnel to \(host):\(port) (is something listening there? does the server allow TCP forwarding?)", rc: rc)
            }
            libssh2_channel_set_blocking(channel, 0)
            let state = SSHStreamState(channel: channel, readsStderr: false, name: name)
            loop.streams.append(state)
            return state
        }
        return SSHChannel(state: state, loop: loop)
    }

    /// Opens the SFTP subsystem.
    public func openSFTP() async throws -> SFTPClient {
        try await SFTPClient.open(loop)
    }
}

extension SSHLoop {
    func openSessionChannel(command: String, name: String) throws -> SSHStreamState? {
        guard let session else { throw SSHError(.closed, "\(name): the connection is closed.") }
        if pendingExecChannel == nil {
            guard let channel = cssh2_channel_open_session(session) else {
                let rc = libssh2_session_last_errno(session)
                if rc == LIBSSH2_ERROR_EAGAIN { return nil }
                throw makeError(.channelFailed, "opening a session channel (server MaxSessions reached?)", rc: rc)
            }
            libssh2_channel_set_blocking(channel, 0)
            pendingExecChannel = channel
        }
        let channel = pendingExecChannel!
        let rc = cssh2_channel_exec(channel, command)
        if rc == LIBSSH2_ERROR_EAGAIN { return nil }
        pendingExecChannel = nil
        if rc != 0 {
            let error = makeError(.channelFailed, "starting the command", rc: rc)
            // Closed by the server's refusal; free it in the background.
            submitCleanup("freeing a refused channel") { _ in SSHLoop.freeChannel(channel) }
            throw error
        }
        let state = SSHStreamState(channel: channel, readsStderr: true, name: name)
        streams.append(state)
        return state
    }
}
