import AWS
import Foundation
import SSH

/// Everything needed to open `ssh://` targets, resolved from flags, the
/// environment and the state directory (or filled in by a provider that knows
/// the host key in advance).
public struct SSHTargetConfiguration: Sendable {
    /// The connection settings: timeouts, host key policy, credentials.
    public var ssh: SSHConfiguration
    /// The agent executable to upload.
    public var agentBinary: String
    /// The controller's state directory (known hosts, hash cache).
    public var stateDirectory: String
    /// Seconds the remote agent waits without a controller before exiting.
    public var agentIdleTimeout: Int
    /// The user asked for `agentIdleTimeout` (`--agent-idle-timeout`): it is
    /// then applied to an agent already running too (`agent.configure`).
    public var agentIdleTimeoutExplicit = false
    /// Whether the remote agent powers the host off when its idle timeout fires
    /// (instances launched for one run; see `TargetSpec.SSHAddress.powerOffWhenIdle`).
    public var agentPowerOffWhenIdle = false
    /// Seconds a new session waits for a running agent that is busy (every
    /// slot for connections awaiting their hello taken) before failing.
    public var agentBusyWithin: Double = 60

    /// Creates a configuration.
    public init(ssh: SSHConfiguration, agentBinary: String, stateDirectory: String, agentIdleTimeout: Int = 1800) {
        self.ssh = ssh
        self.agentBinary = agentBinary
        self.stateDirectory = stateDirectory
        self.agentIdleTimeout = agentIdleTimeout
    }

    /// Builds the configuration from command-line options.
    public init(options: SSHTargetOptions, agentBinary: String, state: StatePaths) {
        var methods: [SSHAuthMethod] = options.identities.map { .privateKeyFile(path: ($0 as NSString).expandingTildeInPath) }
        if methods.isEmpty {
            let home = NSHomeDirectory()
            for name in ["id_ed25519", "id_ecdsa"] where FileManager.default.fileExists(atPath: "\(home)/.ssh/\(name)") {
                methods.append(.privateKeyFile(path: "\(home)/.ssh/\(name)"))
            }
            // The keys `aws launch` authorised on the instances it started.
            let aws = AWSStateStore(stateDirectory: URL(fileURLWithPath: state.root))
            methods += aws.clientKeyPaths().map { .privateKeyFile(path: $0.path) }
        }
        if let socket = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !socket.isEmpty {
            methods.append(.agent)
        }
        let policy = HostKeyPolicy(pinnedFingerprints: options.hostKeys,
                                   knownHosts: KnownHostsStore(stateDirectory: state.root),
                                   acceptNew: options.acceptNewHostKey)
        var ssh = SSHConfiguration(hostKeyPolicy: policy, authMethods: methods)
        ssh.connectTimeout = .milliseconds(Int(options.connectTimeout * 1000))
        ssh.handshakeTimeout = .milliseconds(Int(options.connectTimeout * 1000))
        self.init(ssh: ssh, agentBinary: agentBinary, stateDirectory: state.root, agentIdleTimeout: options.agentIdleTimeout)
        agentIdleTimeoutExplicit = options.agentIdleTimeoutFlag != nil
    }

    /// The login name used when a target names none.
    static var defaultUser: String {
        if let user = ProcessInfo.processInfo.environment["USER"], !user.isEmpty { return user }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "root"
    }
}
