import AgentProtocol
import Foundation

/// A shell script from deploy/linux run as root on a target through the
/// agent: written with `fs.write` into a fresh private directory, run with
/// `sudo -n` unless the agent already runs as root, its output streamed live,
/// and removed afterwards.
struct RemoteScript: Sendable {
    /// The file name on the target, e.g. `bootstrap.sh`.
    let name: String
    let text: String

    /// deploy/linux/bootstrap.sh, as this binary carries it.
    static let bootstrap = RemoteScript(name: "bootstrap.sh", text: EmbeddedScripts.bootstrap + "\n")
    /// deploy/linux/prepare-workdir.sh, as this binary carries it.
    static let prepareWorkdir = RemoteScript(name: "prepare-workdir.sh", text: EmbeddedScripts.prepareWorkdir + "\n")

    /// Runs the script and returns its exit status (128+N for signal N).
    /// Output lines go to this process's stdout and stderr, prefixed when
    /// several targets run at once. Ctrl-C (through `interrupts`) stops the
    /// script's whole process group.
    func run(on client: AgentClient, target: String, arguments: [String],
             prefix: String?, interrupts: InterruptMonitor?) async throws -> Int32 {
        let runner = try await Self.rootPrefix(client, target: target)
        let made = try await client.run(ExecParams(argv: ["mktemp", "-d", "/tmp/automation-script.XXXXXXXX"]))
        guard made.result.exitCode == 0,
              let directory = String(bytes: made.stdout, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              directory.hasPrefix("/tmp/automation-script.") else {
            throw ProvisionError("\(target): mktemp -d failed: \(String(decoding: made.stderr, as: UTF8.self))")
        }
        let path = directory + "/" + name
        do {
            try await client.write(path, data: Array(text.utf8), mode: 0o700)
            let status = try await stream(client, ExecParams(argv: runner + ["/bin/sh", path] + arguments),
                                          prefix: prefix, interrupts: interrupts)
            try? await client.remove(directory, recursive: true, missingOK: true)
            return status
        } catch {
            try? await client.remove(directory, recursive: true, missingOK: true)
            throw error
        }
    }

    /// `[]` when the agent runs as root, else `sudo -n --` once sudo is known to work without a password.
    static func rootPrefix(_ client: AgentClient, target: String) async throws -> [String] {
        let id = try await client.run(ExecParams(argv: ["id", "-u"]))
        if String(decoding: id.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "0" { return [] }
        let probe: (result: ExecResult, stdout: [UInt8], stderr: [UInt8])
        do {
            probe = try await client.run(ExecParams(argv: ["sudo", "-n", "true"]))
        } catch let error as AgentClientError where error.kind == .remote(.commandNotFound) {
            throw ProvisionError("\(target): this needs root, the login user is not root and sudo is not installed; log in as root or install sudo")
        }
        guard probe.result.exitCode == 0 else {
            let said = String(decoding: probe.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ProvisionError("\(target): this needs root and the login user cannot use sudo without a password (sudo said: \(said)); log in as root or allow NOPASSWD sudo for that user")
        }
        return ["sudo", "-n", "--"]
    }

    private func stream(_ client: AgentClient, _ params: ExecParams, prefix: String?, interrupts: InterruptMonitor?) async throws -> Int32 {
        let call = try client.exec(params)
        interrupts?.onInterrupt { Task { try? await call.cancel() } }
        var out = LinePrefixer(prefix: prefix), err = LinePrefixer(prefix: prefix)
        // A cancelled task (Ctrl-C on an image build) stops the remote script too.
        let status = try await withTaskCancellationHandler {
            for try await chunk in call {
                if chunk.stream == .stdout {
                    writeAll(1, out.feed(chunk.data))
                } else {
                    writeAll(2, err.feed(chunk.data))
                }
            }
            writeAll(1, out.flush())
            writeAll(2, err.flush())
            return try await call.result().shellStatus
        } onCancel: {
            Task { try? await call.cancel() }
        }
        try Task.checkCancellation()
        return status
    }
}

/// Provisioning failed on a target: what, where, and what to do.
struct ProvisionError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}
