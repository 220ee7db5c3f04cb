@testable import AutomationKit
import Foundation
import Logging
import TestSupport

/// The dev image builder's "instance" as a real machine: a stock Debian 12
/// (deploy/testhost/stockhost.sh) that the builder reaches over SSH as
/// `admin` through the real agent. moto owns the instance's lifecycle; this
/// host stands in for its address.
final class BuilderHost: @unchecked Sendable {
    let directory: URL
    let port: Int
    private var stopped = false

    static let script = Fixtures.repoRoot.appendingPathComponent("deploy/testhost/stockhost.sh").path

    /// Root, debootstrap, sshd and the static agent; with CI=true a missing piece is a failure, not a skip.
    static let requirement = Requirement("needs root, debootstrap, sshd and AUTOMATION_AGENT_BINARY (deploy/install-deps.sh, deploy/build-agent.sh)") {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/debootstrap")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")
            && ProcessInfo.processInfo.environment["AUTOMATION_AGENT_BINARY"] != nil
    }

    init() throws {
        guard ProcessInfo.processInfo.environment["AUTOMATION_AGENT_BINARY"] != nil else {
            throw FixtureError(description: "set AUTOMATION_AGENT_BINARY to the static agent (deploy/build-agent.sh): the builder host runs it")
        }
        directory = try Fixtures.temporaryDirectory().appendingPathComponent("host")
        let (status, output) = Self.run([Self.script, "up", directory.path])
        guard status == 0, let field = output.split(whereSeparator: \.isWhitespace).first(where: { $0.hasPrefix("port=") }),
              let port = Int(field.dropFirst(5)) else {
            _ = Self.run([Self.script, "down", directory.path])
            try? FileManager.default.removeItem(at: directory.deletingLastPathComponent())
            throw FixtureError(description: "stockhost.sh up failed: \(output)")
        }
        self.port = port
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        _ = Self.run([Self.script, "down", directory.path])
        try? FileManager.default.removeItem(at: directory.deletingLastPathComponent())
    }

    deinit { stop() }

    /// Files the machine wrote in a directory, seen through its overlay's upper layer.
    func written(in directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: written(directory).path)) ?? []
    }

    /// A file of the machine, seen through its overlay's upper layer (files it wrote).
    func written(_ path: String) -> URL { directory.appendingPathComponent("upper" + path) }

    /// A connector that reaches this host whatever address moto gave the instance.
    func connector(state: URL) throws -> DevImageBuilder.Connector {
        let keygen = Self.run(["/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", directory.appendingPathComponent("ssh_host_ed25519_key.pub").path])
        let fingerprint = String(keygen.output.split(separator: " ")[1])
        let options = try TargetOptions.parse(["--identity", directory.appendingPathComponent("id_ed25519").path, "--host-key", fingerprint])
        let port = port, paths = StatePaths(explicit: state.path), targetOptions = options
        // The host's one sudo user stands in for every image's default user (admin, ubuntu).
        return { _, _ in
            try await SSHTargets.connect(TargetSpec.SSHAddress(user: "admin", host: "127.0.0.1", port: port), options: targetOptions,
                                         state: paths, logger: Logger(label: "test"))
        }
    }

    @discardableResult
    static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("builder-host-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        guard let handle = try? FileHandle(forWritingTo: log) else { return (-1, "cannot write \(log.path)") }
        process.standardOutput = handle
        process.standardError = handle
        do { try process.run() } catch { return (-1, "\(error)") }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}
