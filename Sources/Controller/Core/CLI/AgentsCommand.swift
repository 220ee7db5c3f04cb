import AgentProtocol
import ArgumentParser
import Foundation
import SSH

/// `automation agents --target ssh://…`: the detached agents this user has
/// on a host (one per agent hash, found through their state files), and
/// `--stop` to shut them down.
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "List the agents running for this user on ssh:// targets, or stop them.",
        discussion: """
            Each invocation attaches to the agent of the same hash that an earlier one started \
            (found through ~/.cache/automation/agent-<sha256>.state on the host); agents exit on \
            their own after --agent-idle-timeout seconds without a session. --stop shuts down every \
            running agent listed (ending whatever it still runs) and removes stale state files.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Flag(help: "Shut the listed agents down and remove their state files.")
    var stop = false

    @Option(help: ArgumentHelp("Only agents whose hash starts with this (hex).", valueName: "prefix"))
    var hash: String?

    mutating func validate() throws {
        if let hash, hash.isEmpty || hash.count > 64 || !hash.allSatisfy(\.isHexDigit) {
            throw ValidationError("--hash takes 1 to 64 hex digits of an agent's SHA-256")
        }
    }

    /// One state file on the host.
    struct Entry {
        var hash: String
        var running: Bool
        var pid: Int
        var port: Int
        var token: String
    }

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let specs = try targets.specs()
            guard !targets.targetTexts.isEmpty else { throw UsageError("agents needs --target ssh://[user@]host[:port]") }
            for spec in specs {
                guard case .ssh(let address) = spec else {
                    throw UsageError("\(spec): only ssh:// targets keep agents (local ones run theirs on stdio for one invocation)")
                }
                let endpoint = try SSHTargets.endpoint(address)
                let session = try await SSHSession.connect(to: endpoint, configuration: targets.sshConfiguration(state: global.state), logger: logger)
                defer { session.close() }
                let listing = try await session.execute(AgentStateFile.listCommand)
                let entries = listing.output.split(separator: "\n").compactMap { Self.parse(String($0)) }
                    .filter { hash == nil || $0.hash.hasPrefix(hash!.lowercased()) }
                if entries.isEmpty { print("\(endpoint): no agents") }
                for entry in entries {
                    let short = String(entry.hash.prefix(12))
                    guard stop else {
                        print("\(endpoint): agent \(short) pid \(entry.pid) port \(entry.port) \(entry.running ? "running" : "gone (stale state file)")")
                        continue
                    }
                    if entry.running {
                        let agent = RemoteAgentHost.Agent(port: entry.port, token: entry.token, pid: entry.pid, path: "", uploaded: false)
                        do {
                            let host = RemoteAgentHost(session: session, agent: agent, logger: logger)
                            let client = try await host.openClient()
                            defer { client.close() }
                            try await client.shutdown()
                            print("\(endpoint): agent \(short) pid \(entry.pid) stopped")
                        } catch {
                            CommandRunner.report("\(endpoint): agent \(short) pid \(entry.pid) did not accept a shutdown: \(error)")
                            continue
                        }
                    } else {
                        print("\(endpoint): agent \(short) pid \(entry.pid) was gone; state file removed")
                    }
                    if let remove = AgentStateFile.removeCommand(hash: entry.hash) { _ = try await session.execute(remove) }
                }
            }
            return 0
        }
    }

    /// `agent-<hash>.state running|gone {"port":…,"token":"…","pid":…,"version":…}`.
    static func parse(_ line: String) -> Entry? {
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count == 3, parts[0].hasPrefix("agent-"), parts[0].hasSuffix(".state") else { return nil }
        let hash = String(parts[0].dropFirst("agent-".count).dropLast(".state".count))
        struct Announcement: Decodable { var port: Int; var token: String; var pid: Int }
        guard let state = try? JSONDecoder().decode(Announcement.self, from: Data(parts[2].utf8)),
              (1...65535).contains(state.port), state.pid > 0 else { return nil }
        return Entry(hash: hash, running: parts[1] == "running", pid: state.pid, port: state.port, token: state.token)
    }
}
