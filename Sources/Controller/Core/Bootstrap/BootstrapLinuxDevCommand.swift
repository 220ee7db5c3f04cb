import AWS
import ArgumentParser
import Foundation

/// `automation bootstrap-linux-dev --target ssh://…`: turns a host the user
/// already has into the remote interface Mercurial's tests expect
/// (deploy/linux/bootstrap.sh, docs/bootstrap.md), through the agent, with
/// live output. With `--distros`, finds or builds the namespace's dev images
/// on AWS instead (BootstrapLinuxDevCommand+AWS.swift).
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

            With --distros debian12,ubuntu24.04 instead of --target: finds the namespace's AWS image \
            whose fingerprint (SHA-256 of the base image, script, inputs and instance settings) \
            matches, or builds it on a builder instance that is always terminated, Ctrl-C \
            included; prints distro, image id and whether it was reused.
            """
    )

    /// Part of an image's fingerprint: `run-tests --dev-image` uses the same, so it finds what this built.
    static let defaultBuilderType = "t3.2xlarge"
    static let defaultRootVolumeSize = 16
    static let defaultKeepImages = 2
    static let defaultBuilderTTL = "2h"

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Option(name: .customLong("authorized-key"), help: ArgumentHelp("The OpenSSH public key file to authorise for user hg (default: the first --identity with .pub appended).", valueName: "file"))
    var authorizedKey: String?

    @OptionGroup(title: "What goes into the hosts or images") var image: DevImageOptions

    @OptionGroup(title: "AWS images") var aws: AWSCommandOptions

    @Option(help: ArgumentHelp("Build or reuse AWS dev images of these distributions (comma-separated: \(Distro.all.map(\.name).joined(separator: ", "))) instead of bootstrapping --target hosts.", valueName: "list"))
    var distros: String?

    @Flag(help: "With --distros: build the images at the same time (Ctrl-C still terminates every builder).")
    var parallel = false

    @Option(name: .customLong("instance-type"), help: "With --distros: the builder's instance type.")
    var instanceType = Self.defaultBuilderType

    @Option(name: .customLong("root-volume-size"), help: "With --distros: the image's root volume in GiB (1-16384).")
    var rootVolumeSize = Self.defaultRootVolumeSize

    @Option(name: .customLong("keep-images"), help: "With --distros: older images of each distro kept besides the current one (0-100); the rest are deregistered with their snapshots.")
    var keepImages = Self.defaultKeepImages

    @Option(name: .customLong("ssh-cidr"), help: "With --distros: IPv4 range allowed to reach the builder's SSH (default: this machine's public address /32).")
    var sshCidr: String?

    @Option(name: .customLong("builder-ttl"), parsing: .unconditional, help: "With --distros: the builder terminates itself after this long whatever happens, e.g. 2h.")
    var builderTTL = Self.defaultBuilderTTL

    mutating func validate() throws {
        if let distros {
            guard targets.targetTexts.isEmpty else { throw ValidationError("give either --target hosts or --distros images, not both") }
            guard authorizedKey == nil else { throw ValidationError("with --distros the namespace's own key is authorised; drop --authorized-key") }
            _ = try Self.distroList(distros)
            guard (1...16384).contains(rootVolumeSize) else { throw ValidationError("--root-volume-size must be 1-16384 GiB") }
            guard (0...100).contains(keepImages) else { throw ValidationError("--keep-images must be 0-100") }
            _ = try DurationParser.parse(builderTTL, flag: "--builder-ttl")
            try InstanceTypes.requireX86_64(instanceType, flag: "--instance-type")
            if let sshCidr, !CallerAddress.isIPv4CIDR(sshCidr) { throw ValidationError("--ssh-cidr must look like 203.0.113.7/32") }
        } else if targets.targetTexts.isEmpty {
            throw ValidationError("give the hosts to bootstrap with --target ssh://user@host, or AWS images to build with --distros debian12,…")
        }
    }

    func run() async throws {
        let logger = global.makeLogger()
        if distros != nil {
            try await CommandRunner.run(logger: logger) { try await runImages(logger: logger) }
            return
        }
        try await CommandRunner.run(logger: logger) {
            let specs = try targets.specs()
            let keyFile = try authorizedKey ?? targets.ssh.identities.first.map { $0 + ".pub" }
                ?? { throw UsageError("give --authorized-key FILE: the public key user hg will accept") }()
            let inputs = image.inputs(authorizedKey: try BootstrapInputs.readPublicKey(keyFile))
            let script = RemoteScript.bootstrap
            let interrupts = InterruptMonitor()
            defer { interrupts.stop() }
            let targetOptions = targets, state = global.state
            let statuses = try await withThrowingTaskGroup(of: (Int, Int32, Double).self) { group in
                for (index, spec) in specs.enumerated() {
                    let prefix = specs.count > 1 ? "[\(spec)] " : nil
                    group.addTask {
                        let started = Date()
                        // One unreachable host must not stop the others halfway through apt.
                        do {
                            let client = try await Targets.connect(spec, options: targetOptions, state: state, logger: logger)
                            defer { client.close() }
                            let status = try await script.run(on: client, target: "\(spec)", arguments: inputs.arguments,
                                                              prefix: prefix, interrupts: interrupts)
                            return (index, status, Date().timeIntervalSince(started))
                        } catch {
                            CommandRunner.report("\(spec): \(error)")
                            return (index, -1, Date().timeIntervalSince(started))
                        }
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
                } else if status > 0 {
                    CommandRunner.report("\(spec): bootstrap.sh exited with status \(status) after \(String(format: "%.1f", seconds))s; its output above says which step failed")
                }
            }
            if statuses.contains(where: { $0.0 < 0 }) { return ExitCodes.infrastructure }
            return statuses.contains { $0.0 != 0 } ? 1 : 0
        }
    }
}
