/// Where to connect and as whom.
public struct SSHEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The login user.
    public var user: String
    /// Host name or address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// Where the TCP connection really goes, when not to `host:port` (an address map:
    /// a private address, a port forward, a simulated cloud). Host keys are still
    /// looked up and checked under `host` and `port`.
    public var via: Address?

    /// A host and port to connect to.
    public struct Address: Sendable, Hashable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// Creates an endpoint.
    public init(user: String, host: String, port: Int = 22, via: Address? = nil) {
        self.user = user
        self.host = host
        self.port = port
        self.via = via
    }

    /// Where the TCP connection goes.
    public var connectAddress: Address { via ?? Address(host: host, port: port) }

    public var description: String {
        let base = port == 22 ? "\(user)@\(host)" : "\(user)@\(host):\(port)"
        guard let via else { return base }
        return "\(base) (via \(via.host):\(via.port))"
    }
}

/// How to connect: timeouts, host key policy, credentials.
public struct SSHConfiguration: Sendable {
    /// Limit for the TCP connect.
    public var connectTimeout: Duration = .seconds(10)
    /// Limit for the SSH handshake and for authentication, each.
    public var handshakeTimeout: Duration = .seconds(15)
    /// Limit for each operation (channel open, SFTP request) once connected;
    /// for transfers, the longest stall allowed.
    public var operationTimeout: Duration = .seconds(30)
    /// Seconds between keepalive messages on an idle connection.
    public var keepaliveInterval: Int = 15
    /// How the server's host key is verified.
    public var hostKeyPolicy: HostKeyPolicy
    /// What to authenticate with, tried in order.
    public var authMethods: [SSHAuthMethod]

    /// Creates a configuration.
    public init(hostKeyPolicy: HostKeyPolicy, authMethods: [SSHAuthMethod]) {
        self.hostKeyPolicy = hostKeyPolicy
        self.authMethods = authMethods
    }
}

/// Facts about an established connection.
public struct SSHConnectionInfo: Sendable {
    /// The server's host key.
    public var hostKey: SSHHostKey
    /// The credential that the server accepted, for logs.
    public var authenticatedWith: String
    /// The server's identification string.
    public var serverBanner: String
}
