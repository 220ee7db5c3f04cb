import SSH

/// An agent session carried by a direct-tcpip channel to the agent's loopback
/// listener, over the host's one SSH connection.
final class SSHTunnelTransport: AgentTransport, @unchecked Sendable {
    private let channel: SSHChannel

    init(channel: SSHChannel) {
        self.channel = channel
    }

    func start(_ sink: any TransportSink) {
        // Both callbacks run on the connection's I/O thread, in order.
        channel.start(onData: { bytes, _ in
            sink.transportReceived(bytes)
        }, onEnd: { [name = channel.name] end in
            if let error = end.error {
                sink.transportClosed(error: AgentClientError(.transport, "\(name): \(error.message)"))
            } else {
                sink.transportClosed(error: nil)
            }
        })
    }

    func send(_ bytes: [UInt8]) throws {
        do {
            try channel.send(bytes)
        } catch let error as SSHError {
            throw AgentClientError(.transport, error.message)
        }
    }

    func close() {
        channel.close()
    }
}
