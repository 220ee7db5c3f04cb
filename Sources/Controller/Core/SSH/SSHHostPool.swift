import Logging
import SSH

/// The SSH hosts this process is connected to: one connection and one agent
/// per user@host:port, however many targets or sessions name it.
public actor SSHHostPool {
    /// The process-wide pool used by the CLI.
    public static let shared = SSHHostPool()

    private var hosts: [SSHEndpoint: Task<RemoteAgentHost, any Error>] = [:]

    /// Creates an empty pool.
    public init() {}

    /// The host for `endpoint`, connecting and starting its agent on first use.
    public func host(_ endpoint: SSHEndpoint, configuration: SSHTargetConfiguration,
                     logger: Logger) async throws -> RemoteAgentHost {
        if let existing = hosts[endpoint] {
            if let host = try? await existing.value, host.session.terminalError == nil { return host }
            hosts[endpoint] = nil
        }
        let task = Task { try await RemoteAgentHost.start(endpoint, configuration: configuration, logger: logger) }
        hosts[endpoint] = task
        do {
            return try await task.value
        } catch {
            hosts[endpoint] = nil
            throw error
        }
    }

    /// Closes every connection.
    public func closeAll() async {
        for task in hosts.values { try? await task.value.close() }
        hosts.removeAll()
    }
}
