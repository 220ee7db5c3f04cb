import ArgumentParser
import Foundation

/// `automation bootstrap-linux-dev --target ssh://…`: turns a host the user
/// already has into the remote interface Mercurial's tests expect
/// (deploy/linux/bootstrap.sh, docs/bootstrap.md), through the agent, with
/// live output.
struct BootstrapLinuxDevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap-linux-dev",
        abstract: "Bootstrap Debian 12/11 or Ubuntu 24.04/22.04 hosts for Mercurial development and tests.",
        discussion: """
            Runs deploy/linux/bootstrap.sh (carried by this binary) as root on each --target: \
            through sudo -n when the login user is not root. Creates user and group hg (passwordless \
            sudo, the --authorized-key authorised), /hgdev with the Pythons, \
            /hgdev/venv-bootstrap/bin/hg and /hgdev/src, and installs the packages Mercurial's \
            tests use. Idempotent: a second run changes nothing. pyenv Pythons (the default) \
            download from github.com and python.org; --pythons system needs only the \
            distribution's package registry and PyPI. Exit status: 0 when every target is \
            ready, 1 when a bootstrap script failed (its output says where), 64 usage, \
            130 interrupted, 255 unreachable target.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Option(name: .customLong("authorized-key"), help: ArgumentHelp("The OpenSSH public key file to authorise for user hg (default: the first --identity with .pub appended).", valueName: "file"))
    var authorizedKey: String?

    @Option(help: ArgumentHelp("Comma-separated Pythons: 'system' for the distribution's python3, or pyenv versions (default: the script's list).", valueName: "list"))
    var pythons: String?

    @Option(name: .customLong("hg-version"), help: "The Mercurial release installed in /hgdev/venv-bootstrap (default: the script's).")
    var hgVersion: String?

    @Option(help: ArgumentHelp("Where /hgdev/src comes from: an hg URL to clone, or 'pypi' for the --hg-version release from PyPI (default: the canonical repository).", valueName: "url"))
    var src: String?

    mutating func validate() throws {
        guard !targets.targetTexts.isEmpty else {
            throw ValidationError("give the hosts to bootstrap with --target ssh://user@host (building AWS images with --distros is not available yet)")
        }
        if let pythons, pythons.split(separator: ",", omittingEmptySubsequences: false).contains(where: { !BootstrapInputs.isPythonName($0) }) {
            throw ValidationError("--pythons takes 'system' or versions like 3.12.8, comma-separated; got '\(pythons)'")
        }
        if let hgVersion, !BootstrapInputs.isVersion(hgVersion) {
            throw ValidationError("--hg-version must look like 7.2.4, got '\(hgVersion)'")
        }
        if let src, src.isEmpty || src.contains("\n") { throw ValidationError("--src must be an hg URL or 'pypi'") }
    }

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let specs = try targets.specs()
            let keyFile = try authorizedKey ?? targets.ssh.identities.first.map { $0 + ".pub" }
                ?? { throw UsageError("give --authorized-key FILE: the public key user hg will accept") }()
            let inputs = BootstrapInputs(authorizedKey: try BootstrapInputs.readPublicKey(keyFile),
                                         pythons: pythons, hgVersion: hgVersion, src: src)
            let script = RemoteScript(name: "bootstrap.sh", text: EmbeddedScripts.bootstrap + "\n")
            let interrupts = InterruptMonitor()
            defer { interrupts.stop() }
            let targetOptions = targets, state = global.state
            let statuses = try await withThrowingTaskGroup(of: (Int, Int32, Double).self) { group in
                for (index, spec) in specs.enumerated() {
                    let prefix = specs.count > 1 ? "[\(spec)] " : nil
                    group.addTask {
                        let started = Date()
                        let client = try await Targets.connect(spec, options: targetOptions, state: state, logger: logger)
                        defer { client.close() }
                        let status = try await script.run(on: client, target: "\(spec)", arguments: inputs.arguments,
                                                          prefix: prefix, interrupts: interrupts)
                        return (index, status, Date().timeIntervalSince(started))
                    }
                }
                var results = [(Int32, Double)](repeating: (0, 0), count: specs.count)
                for try await (index, status, seconds) in group { results[index] = (status, seconds) }
                return results
            }
            if interrupts.fired { return ExitCodes.interrupted }
            for (spec, (status, seconds)) in zip(specs, statuses) {
                if status == 0 {
                    print("\(spec)\tready\t\(String(format: "%.1f", seconds))s")
                } else {
                    CommandRunner.report("\(spec): bootstrap.sh exited with status \(status) after \(String(format: "%.1f", seconds))s; its output above says which step failed")
                }
            }
            return statuses.contains { $0.0 != 0 } ? 1 : 0
        }
    }
}
