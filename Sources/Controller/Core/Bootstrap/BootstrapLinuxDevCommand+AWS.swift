import AWS
import ArgumentParser
import Foundation
import Logging

/// `bootstrap-linux-dev --distros`: the namespace's dev images on AWS.
extension BootstrapLinuxDevCommand {
    static func distroList(_ text: String) throws -> [Distro] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !names.isEmpty, Set(names).count == names.count else {
            throw ValidationError("--distros takes distinct names, comma-separated: \(Distro.all.map(\.name).joined(separator: ","))")
        }
        return try names.map { name in
            do { return try Distro.named(name) } catch {
                throw ValidationError("--distros: unknown distribution '\(name)'; use \(Distro.all.map(\.name).joined(separator: ", "))")
            }
        }
    }

    func runImages(logger: Logger) async throws -> Int32 {
        let distroList = try Self.distroList(distros ?? "")
        let automation = try await aws.automation(global: global, logger: logger)
        let cidr = if let sshCidr { sshCidr } else { try await CallerAddress.publicCIDR(http: automation.client.http) }
        let builder = try Self.imageBuilder(
            automation: automation, image: image, instanceType: instanceType, rootVolumeSize: rootVolumeSize, keep: keepImages,
            builderTTL: try DurationParser.parse(builderTTL, flag: "--builder-ttl"), sshCidr: cidr,
            targets: targets, state: global.state, logger: logger)
        let interrupts = InterruptMonitor()
        defer { interrupts.stop() }
        let parallel = parallel
        let work = Task {
            try await Self.ensureAll(builder, distroList, parallel: parallel, interrupts: interrupts)
        }
        interrupts.onInterrupt { work.cancel() }
        let outcomes: [DevImageBuilder.Outcome]
        do {
            outcomes = try await work.value
        } catch where interrupts.fired {
            CommandRunner.report("interrupted; every builder this run launched was terminated")
            return ExitCodes.interrupted
        }
        for outcome in outcomes {
            print("\(outcome.distro)\t\(outcome.imageId)\t\(outcome.reused ? "reused" : "built")")
            for removed in outcome.removed {
                FileHandle.standardError.write(Data("automation: deregistered older image \(removed) (\(outcome.distro)) and its snapshots\n".utf8))
            }
        }
        return 0
    }

    /// The builder of the namespace's dev images: bootstrap.sh with `image`'s inputs and
    /// the namespace's key authorised for hg (what `run-tests --dev-image` connects with).
    static func imageBuilder(automation: AWSAutomation, image: DevImageOptions, instanceType: String, rootVolumeSize: Int?,
                             keep: Int, builderTTL: Duration, sshCidr: String, targets: TargetOptions, state: StatePaths,
                             logger: Logger) throws -> DevImageBuilder {
        let namespace = automation.ownership.namespace
        let key = try automation.state.clientKey(namespace: namespace).openSSHPublicKey(comment: "hg-automation-\(namespace)")
        let agentBinary = targets.agentBinary
        return DevImageBuilder(
            automation: automation, script: RemoteScript.bootstrap,
            arguments: image.inputs(authorizedKey: key).arguments, instanceType: instanceType, rootVolumeSize: rootVolumeSize,
            keep: keep, builderTTL: builderTTL, sshCidr: sshCidr,
            connect: sshConnector(automation: automation, targets: targets, state: state, logger: logger),
            logger: logger,
            // The builder is reached through the agent: a dynamically linked one is refused before it is launched.
            preflight: { try AgentBinary.requireStatic(try AgentBinary.locate(explicit: agentBinary)) })
    }

    /// One distro after another, or all at once with `parallel`; output prefixed by distro when parallel.
    static func ensureAll(_ builder: DevImageBuilder, _ distros: [Distro], parallel: Bool,
                          interrupts: InterruptMonitor?) async throws -> [DevImageBuilder.Outcome] {
        guard parallel && distros.count > 1 else {
            var outcomes: [DevImageBuilder.Outcome] = []
            for distro in distros { outcomes.append(try await builder.ensure(distro, prefix: nil, interrupts: interrupts)) }
            return outcomes
        }
        // Account resources (key pair, security group, profile) are made once, before
        // the builds race to create them: concurrent ImportKeyPair calls collide.
        _ = try await builder.automation.ensureAccount(sshCidr: builder.sshCidr)
        return try await withThrowingTaskGroup(of: (Int, DevImageBuilder.Outcome).self) { group in
            for (index, distro) in distros.enumerated() {
                group.addTask { (index, try await builder.ensure(distro, prefix: "[\(distro.name)] ", interrupts: interrupts)) }
            }
            var outcomes = [DevImageBuilder.Outcome?](repeating: nil, count: distros.count)
            for try await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes.compactMap { $0 }
        }
    }

    /// Connects to a builder's address as `user` with the namespace's key and the
    /// host key pinned at launch, retrying while its sshd starts (up to --wait-timeout).
    static func sshConnector(automation: AWSAutomation, targets: TargetOptions, state: StatePaths,
                             logger: Logger) -> DevImageBuilder.Connector {
        { instance, user in
            guard let host = instance.publicIp ?? instance.privateIp else {
                throw ProvisionError("builder \(instance.id) has no address")
            }
            var options = targets
            options.ssh.identities = [automation.state.clientKeyPath(namespace: automation.ownership.namespace).path]
            options.ssh.hostKeys = [instance.hostKeyFingerprint]
            let address = TargetSpec.SSHAddress(user: user, host: host, port: 22)
            let clock = ContinuousClock()
            let deadline = clock.now + automation.waitTimeout
            while true {
                do {
                    return try await SSHTargets.connect(address, options: options, state: state, logger: logger)
                } catch where clock.now < deadline && !(error is CancellationError) {
                    logger.debug("aws.builder.ssh.retry", metadata: ["aws.instance": "\(instance.id)", "error": "\(error)"])
                    try await Task.sleep(for: .seconds(5))
                }
            }
        }
    }
}
