import Logging

/// Opens an agent session on a target.
public enum Targets {
    /// `state` holds known hosts and deploy records for ssh:// targets.
    public static func connect(_ spec: TargetSpec, options: TargetOptions, state: StatePaths, logger: Logger) async throws -> AgentClient {
        switch spec {
        case .local:
            return try await LocalAgent.connect(binary: try AgentBinary.locate(explicit: options.agentBinary), logger: logger)
        case .ssh(let address):
            return try await SSHTargets.connect(address, options: options, state: state, logger: logger)
        case .aws:
            throw UsageError("\(spec) targets are launched by run-tests; for other commands, start instances with "
                             + "`automation aws launch` and use the --target lines it prints")
        }
    }
}
