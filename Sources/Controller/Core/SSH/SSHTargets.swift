import Logging
import SSH

/// Opens agent sessions on `ssh://` targets for the target factory.
public enum SSHTargets {
    /// Connects (once per host) and opens a new agent session on it.
    public static func connect(_ address: TargetSpec.SSHAddress, options: TargetOptions, state: StatePaths,
                               logger: Logger) async throws -> AgentClient {
        var configuration = SSHTargetConfiguration(
            options: options.ssh, agentBinary: try AgentBinary.locate(explicit: options.agentBinary),
            state: state)
        if let identity = address.identity {
            configuration.ssh.authMethods.insert(.privateKeyFile(path: identity), at: 0)
        }
        if let seconds = address.powerOffWhenIdle {
            configuration.agentIdleTimeout = seconds
            configuration.agentPowerOffWhenIdle = true
        }
        let host = try await SSHHostPool.shared.host(try endpoint(address), configuration: configuration, logger: logger)
        return try await host.openClient(logger: logger)
    }

    /// The SSH endpoint of a target, with the local user name when none is given, and
    /// redirected by `$AUTOMATION_ADDRESS_MAP` when the map names its host.
    public static func endpoint(_ address: TargetSpec.SSHAddress) throws -> SSHEndpoint {
        try AddressMap.fromEnvironment().apply(
            SSHEndpoint(user: address.user ?? SSHTargetConfiguration.defaultUser, host: address.host, port: address.port))
    }
}
