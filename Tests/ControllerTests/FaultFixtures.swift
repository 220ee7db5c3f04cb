import AutomationKit
import Foundation
import Testing
import TestSupport

/// A private sshd (deploy/testhost/sshd.sh) for the run-tests fault tests,
/// on loopback or alone in a network namespace of its own (a host with its
/// own loopback, reached over a veth pair: deploy/testhost/netns.sh);
/// stopped (with every process it started, and its namespace) by `stop`.
struct FaultSSHHost {
    /// True when namespace hosts can be made too (root, OpenSSH server, iproute2).
    static var namespacesAvailable: Bool {
        Requirement.sshd.isMet && ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }
    /// For the suites whose hosts live in network namespaces.
    static let namespaces = Requirement("needs root, /usr/sbin/sshd and ip (apt-get install openssh-server iproute2)") { namespacesAvailable }
    static let script = RunTestsHarness.repoRoot.appendingPathComponent("deploy/testhost/sshd.sh").path
    static let netnsScript = RunTestsHarness.repoRoot.appendingPathComponent("deploy/testhost/netns.sh").path

    let directory: String
    /// Where sshd listens: 127.0.0.1, or the namespace's veth address.
    let address: String
    let port: Int
    let user: String
    let fingerprint: String
    let listenerPid: Int32
    /// The network namespace the host lives in, if any.
    let namespace: String?

    init(in harness: RunTestsHarness, namespace wanted: Bool = false) throws {
        directory = harness.scratch.appendingPathComponent("sshd").path
        var started = (status: Int32(-1), output: "")
        var namespace: String?
        if wanted {
            // Namespaces and their subnets (10.77.INDEX.0/24) are machine-wide and other
            // test runs make theirs too: a random index above MultiHostTests' 100…241,
            // another one when it is taken.
            for _ in 0..<8 {
                let index = Int.random(in: 242...254)
                let name = "flt\(index)"
                started = RunTestsHarness.shell([Self.netnsScript, "up", name, String(index), directory])
                if started.status == 0 {
                    namespace = name
                    break
                }
                RunTestsHarness.shell([Self.netnsScript, "down", name, directory])
            }
            guard namespace != nil else { throw HarnessError("netns.sh up: \(started.output)") }
        } else {
            started = RunTestsHarness.shell([Self.script, "start", directory])
        }
        self.namespace = namespace
        guard started.status == 0 else { throw HarnessError("sshd.sh start: \(started.output)") }
        let fields = Dictionary(started.output.split(whereSeparator: \.isWhitespace).compactMap { pair -> (String, String)? in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }, uniquingKeysWith: { _, last in last })
        guard let port = fields["port"].flatMap(Int.init), let user = fields["user"], let pid = fields["pid"].flatMap(Int32.init) else {
            throw HarnessError("sshd.sh printed no port/user/pid: \(started.output)")
        }
        self.port = port
        self.user = user
        address = fields["address"] ?? "127.0.0.1"
        listenerPid = pid
        let keygen = RunTestsHarness.shell(["/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", directory + "/ssh_host_ed25519_key.pub"])
        fingerprint = String(keygen.output.split(separator: " ")[1])
    }

    func stop() {
        if let namespace {
            RunTestsHarness.shell([Self.netnsScript, "down", namespace, directory])
        } else {
            RunTestsHarness.shell([Self.script, "stop", directory])
        }
    }

    /// Takes the host's link down (a partition at the network layer: packets
    /// vanish, nothing is closed) or brings it back up.
    func setLink(up: Bool) {
        guard let namespace else { return }
        RunTestsHarness.shell(["ip", "link", "set", "vh-\(namespace)", up ? "up" : "down"])
    }

    /// The sshd processes serving connections (descendants of the listener).
    func connectionPids() -> [Int32] {
        var found: [Int32] = []
        var frontier = [listenerPid]
        while let parent = frontier.popLast() {
            let children = ProcessTable.children(of: parent).map(\.pid)
            found += children
            frontier += children
        }
        return found
    }

    /// `--target`, key and host-key arguments for a target reached at `port` (the proxy's, or sshd's own).
    func targetArguments(port: Int, slots: Int) -> [String] {
        ["--target", "ssh://\(user)@127.0.0.1:\(port)/\(slots)", "--identity", directory + "/id_ed25519", "--host-key", fingerprint]
    }
}

/// A harness, an agent binary of its own and an sshd host, with the target
/// arguments that reach that host with that agent: what the agent-reuse and
/// flood tests each set up. `cleanUp()` ends the agents, the host and the harness.
struct AgentOnSSHHost {
    let harness: RunTestsHarness
    let agent: UniqueAgent
    let host: FaultSSHHost

    init() throws {
        harness = try RunTestsHarness()
        do {
            agent = try UniqueAgent(in: harness)
            host = try FaultSSHHost(in: harness)
        } catch {
            harness.cleanUp()
            throw error
        }
    }

    /// `--target ssh://…/1 --identity … --host-key … --agent-binary AGENT`.
    var target: [String] { host.targetArguments(port: host.port, slots: 1) + ["--agent-binary", agent.path] }

    func cleanUp() {
        agent.killAll()
        host.stop()
        harness.cleanUp()
    }
}

/// An agent binary with a hash of its own, so a test can find (and only
/// touch) the agent processes it started: they run from
/// `~/.cache/automation/agent-<hash>`.
struct UniqueAgent {
    let path: String
    let hash: String

    init(in harness: RunTestsHarness) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: try BuiltProducts.agent()))
        bytes.append(contentsOf: Array("fault-test \(UUID().uuidString)".utf8))
        path = harness.scratch.appendingPathComponent("automation-agent").path
        try bytes.write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        let sum = RunTestsHarness.shell(["/usr/bin/sha256sum", path]).output
        hash = String(sum.prefix(64))
    }

    /// Agents started from this binary on the test host.
    func pids() -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return nil }
            return String(decoding: cmdline, as: UTF8.self).contains("agent-\(hash)") ? pid : nil
        }
    }

    /// Ends the agents this test started (by pid) and removes what it left
    /// in the test user's agent cache (the 14 MB upload, the state file).
    func killAll(user: String = ProcessInfo.processInfo.environment["AUTOMATION_TEST_USER"] ?? "automation-test") {
        for pid in pids() {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
        }
        guard let home = FileManager.default.homeDirectory(forUser: user)?.path else { return }
        for suffix in ["", ".state"] {
            try? FileManager.default.removeItem(atPath: "\(home)/.cache/automation/agent-\(hash)\(suffix)")
        }
    }
}

/// deploy/testhost/tcp-fault-proxy.py in front of a TCP port: stalls,
/// delays and cuts connections on command. Unchecked Sendable: a test sends
/// one command at a time, from its task or its fault-injecting thread, never both.
final class FaultProxy: @unchecked Sendable {
    let port: Int
    private let process: Process
    private let commands: FileHandle
    private let replies: FileHandle

    init(upstreamHost: String = "127.0.0.1", upstreamPort: Int) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [RunTestsHarness.repoRoot.appendingPathComponent("deploy/testhost/tcp-fault-proxy.py").path, upstreamHost, String(upstreamPort)]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        commands = input.fileHandleForWriting
        replies = output.fileHandleForReading
        let first = try Self.readLine(replies)
        guard first.hasPrefix("PORT "), let port = Int(first.dropFirst(5)) else { throw HarnessError("fault proxy said: \(first)") }
        self.port = port
    }

    /// Sends a command and waits until the proxy applied it.
    func send(_ command: String) throws {
        commands.write(Data((command + "\n").utf8))
        let reply = try Self.readLine(replies)
        guard reply == "OK \(command)" else { throw HarnessError("fault proxy answered \(reply) to \(command)") }
    }

    func stop() {
        try? commands.close()
        process.waitUntilExit()
    }

    private static func readLine(_ handle: FileHandle) throws -> String {
        var line = Data()
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { throw HarnessError("fault proxy exited") }
            if byte == Data([0x0A]) { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }
}
