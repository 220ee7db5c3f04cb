import AWS
import AgentProtocol
import Foundation
import Logging
import SSH

/// The instances one run-tests invocation launches for its `aws:N` targets: launched
/// together, reached as ordinary `ssh://` targets with the namespace key and the host
/// keys pinned at launch, and terminated on every way out (success, failing tests,
/// errors, Ctrl-C, a second Ctrl-C) unless `--keep`. A controller that vanishes
/// leaves them to their agents: with no controller for `--instance-idle-timeout`
/// an agent powers its instance off, which terminates it (`--instance-ttl` is the
/// backstop).
final class CloudRun: @unchecked Sendable {
    private let automation: AWSAutomation
    private let options: AWSTargetOptions
    private let logger: Logger
    /// One run id per `aws:N` target, chosen before launching so an interrupted launch is still found.
    private let runIds: [String]
    private let lock = NSLock()
    /// The one teardown (or, with --keep, the decision to skip it) that every path awaits.
    private var teardown: Task<Void, Never>?
    /// The instances each completed launch returned, by run id: teardown terminates these
    /// directly; a run id missing here (launch failed or interrupted) is searched for.
    private var launchedIds: [String: [String]] = [:]
    /// Held here because the teardown runs detached, outside the task-local recorder.
    private let phases: PhaseRecorder?

    private init(automation: AWSAutomation, options: AWSTargetOptions, runIds: [String], logger: Logger) {
        self.automation = automation
        self.options = options
        self.runIds = runIds
        self.logger = logger
        self.phases = PhaseRecorder.current
    }

    /// Runs `body` with `specs` where every `aws:N` became N `ssh://` targets, and tears the
    /// instances down afterwards however `body` ends.
    static func with(_ specs: [TargetSpec], options: AWSTargetOptions, targets: TargetOptions, global: GlobalOptions,
                     jobs: Int?, logger: Logger, _ body: ([TargetSpec]) async throws -> Int32) async throws -> Int32 {
        let cloudTargets = specs.compactMap(\.awsTarget)
        guard !cloudTargets.isEmpty else { return try await body(specs) }

        // The account's calls open the first phase: the dev image's when there is one.
        PhaseRecorder.current?.begin(options.devImage ? .image : .launch)
        let automation = try await options.aws.automation(global: global, logger: logger,
                                                          metrics: PhaseRecorder.current?.awsCalls ?? AWSCallMetrics())
        let run = CloudRun(automation: automation, options: options, runIds: cloudTargets.map { _ in RunRecord.newRunId() }, logger: logger)
        let teardownID = ExitTeardowns.shared.register { await run.tearDown(reason: "interrupted") }
        defer { ExitTeardowns.shared.remove(teardownID) }

        // Ctrl-C while launching or waiting for SSH stops that and goes straight to teardown.
        let interrupts = InterruptMonitor(
            exitOnSecond: false,
            message: "automation: interrupted: terminating the instances launched so far (they are terminated however often you press Ctrl-C)")
        let provisioning = Task { try await run.provision(specs, targets: targets, global: global, jobs: jobs) }
        interrupts.onInterrupt { provisioning.cancel() }
        let resolved: [TargetSpec]
        do {
            resolved = try await provisioning.value
            // A Ctrl-C that came as provisioning finished still means: do not start the run.
            if interrupts.fired { throw CancellationError() }
        } catch {
            await run.tearDown(reason: interrupts.fired ? "interrupted" : "launch failed")
            interrupts.stop()
            if interrupts.fired { return ExitCodes.interrupted }
            throw error
        }
        let code: Int32
        do {
            code = try await body(resolved)
        } catch {
            await run.finish(resolved)
            interrupts.stop()
            throw error
        }
        await run.finish(resolved)
        interrupts.stop()
        return code
    }

    /// Launches every `aws:N` target at once, waits until each instance answers SSH
    /// with the pinned host key, and returns the targets with instances in their place.
    private func provision(_ specs: [TargetSpec], targets: TargetOptions, global: GlobalOptions, jobs: Int?) async throws -> [TargetSpec] {
        var started = ContinuousClock.now
        let cidr = if let sshCidr = options.sshCidr { sshCidr } else { try await CallerAddress.publicCIDR(http: automation.client.http) }
        let distro = try Distro.named(options.distro)
        let ttl = try DurationParser.parse(options.instanceTTL, flag: "--instance-ttl")
        // Kept instances outlive the run on purpose: their agents only exit when idle.
        let powerOffWhenIdle: Int? = try options.keep ? nil : options.instanceIdleSeconds()
        let cloud = specs.enumerated().compactMap { index, spec in spec.awsTarget.map { (index, $0) } }
        var imageId = options.image
        var user = distro.defaultUser
        if options.devImage {
            phases?.begin(.image, at: started)
            // The builder's own connect and deploy are part of the image, not of the run's phases.
            imageId = try await PhaseRecorder.$current.withValue(nil) {
                try await devImage(distro, cidr: cidr, targets: targets, global: global)
            }
            phases?.end(.image)
            user = "hg"
            started = ContinuousClock.now
        }
        phases?.begin(.launch, at: started)
        note("launching \(cloud.map { "\($0.1.count) × \($0.1.instanceType ?? options.instanceType)" }.joined(separator: ", "))"
             + (options.spot.spot ? " as spot (on demand for what spot cannot give)" : "") + " "
             + "in \(automation.region) (namespace \(automation.ownership.namespace), expire in \(options.instanceTTL))")
        let launched = try await withThrowingTaskGroup(of: (Int, LaunchResult).self) { group in
            for (position, (_, target)) in cloud.enumerated() {
                var request = LaunchRequest(count: target.count, instanceType: target.instanceType ?? options.instanceType,
                                            imageId: imageId, distro: distro, ttl: ttl, sshCidr: cidr, runId: runIds[position])
                request.workdirVolumeSize = options.extraVolumeSize
                request.spot = options.spot.launch(for: request.instanceType)
                group.addTask { (position, try await self.automation.launch(request)) }
            }
            var results: [Int: LaunchResult] = [:]
            for try await (position, result) in group {
                results[position] = result
                lock.withLock { launchedIds[runIds[position]] = result.run.instances.map(\.id) }
            }
            return results
        }
        let key = automation.state.clientKeyPath(namespace: automation.ownership.namespace).path
        var resolved: [TargetSpec] = []
        for (index, spec) in specs.enumerated() {
            guard let position = cloud.firstIndex(where: { $0.0 == index }), let result = launched[position] else {
                resolved.append(spec)
                continue
            }
            let type = cloud[position].1.instanceType ?? options.instanceType
            if options.spot.spot { FileHandle.standardError.write(Data(LaunchSummary.lines(result, defaultType: type).utf8)) }
            for instance in result.run.instances {
                guard let address = instance.publicIp ?? instance.privateIp else {
                    throw AutomationAWSError("instance \(instance.id) has no address to connect to")
                }
                // A --spot fleet may have chosen another type than the target's.
                var target = TargetSpec.SSHAddress(user: user, host: address, slots: jobs ?? InstanceTypes.vcpus(instance.instanceType ?? type),
                                                   identity: key)
                target.powerOffWhenIdle = powerOffWhenIdle
                resolved.append(.ssh(target))
            }
        }
        phases?.end(.launch)
        let instances = resolved.count - (specs.count - cloud.count)
        note("\(instances) instances running after \(Self.seconds(ContinuousClock.now - started)); waiting for SSH")
        let boot = try DurationParser.parse(options.bootTimeout, flag: "--boot-timeout")
        // Each host ends `connect` when its sshd answers (RemoteAgentHost), then `deploy`;
        // with --filesystem it then makes /hgwork over the same connection.
        phases?.begin(.connect)
        let filesystem = options.filesystem
        resolved = try await withThrowingTaskGroup(of: (Int, TargetSpec).self) { group in
            for (index, spec) in resolved.enumerated() {
                guard case .ssh(let address) = spec, address.identity == key else { continue }
                group.addTask {
                    let (ready, client) = try await self.waitForSSH(address, targets: targets, global: global, timeout: boot)
                    defer { client.close() }
                    guard let filesystem else { return (index, .ssh(ready)) }
                    return (index, .ssh(try await self.prepareWorkdir(ready, on: client, filesystem: filesystem)))
                }
            }
            var ready = resolved
            for try await (index, spec) in group { ready[index] = spec }
            return ready
        }
        note("\(instances) instances ready after \(Self.seconds(ContinuousClock.now - started))")
        if let filesystem {
            note("\(AWSTargetOptions.workRoot) (\(filesystem)) ready on every instance")
        }
        return resolved
    }

    /// The namespace's dev image of `distro`: reused when its fingerprint matches, else built
    /// now (a builder launched, bootstrapped, imaged and terminated; minutes, once).
    private func devImage(_ distro: Distro, cidr: String, targets: TargetOptions, global: GlobalOptions) async throws -> String {
        let started = ContinuousClock.now
        let builder = try BootstrapLinuxDevCommand.imageBuilder(
            automation: automation, image: options.imageInputs, instanceType: options.builderType,
            rootVolumeSize: BootstrapLinuxDevCommand.defaultRootVolumeSize, keep: BootstrapLinuxDevCommand.defaultKeepImages,
            builderTTL: try DurationParser.parse(BootstrapLinuxDevCommand.defaultBuilderTTL, flag: "--builder-ttl"),
            sshCidr: cidr, targets: targets, state: global.state, logger: logger)
        let outcome = try await builder.ensure(distro, prefix: nil, interrupts: nil, announce: { fingerprint, base in
            self.note("no \(distro.name) dev image has fingerprint \(fingerprint.prefix(16)); building it first from \(base) "
                      + "(a builder bootstraps it: minutes, once; later runs reuse it)")
        })
        if outcome.reused {
            note("dev image \(outcome.imageId) (\(distro.name), fingerprint \(outcome.fingerprint.prefix(16)))")
        } else {
            note("built dev image \(outcome.imageId) (\(distro.name)) in \(Self.seconds(ContinuousClock.now - started))")
        }
        return outcome.imageId
    }

    /// `/hgwork` with `filesystem` on one instance (prepare-workdir.sh through sudo), owned
    /// by the login user, with `tmp` for the tests' scratch; the target then works there.
    private func prepareWorkdir(_ address: TargetSpec.SSHAddress, on client: AgentClient,
                                filesystem: String) async throws -> TargetSpec.SSHAddress {
        phases?.begin(.prepare)
        let root = AWSTargetOptions.workRoot
        let status = try await RemoteScript.prepareWorkdir.run(
            on: client, target: address.host,
            arguments: ["--filesystem", filesystem, "--mount-point", root, "--owner", address.user ?? "root"],
            prefix: "[\(address.host)] ", interrupts: nil)
        guard status == 0 else {
            throw ProvisionError("\(address.host): prepare-workdir.sh --filesystem \(filesystem) exited with status \(status); its output is above")
        }
        if (try? await client.stat(root + "/tmp")) == nil {
            try await client.mkdir(root + "/tmp", mode: 0o1777)
        }
        try await client.chmod(root + "/tmp", mode: 0o1777)
        phases?.end(.prepare, host: address.host)
        var prepared = address
        prepared.workRoot = root
        return prepared
    }

    /// Connects until the instance's sshd answers and the agent starts: sshd comes up and
    /// cloud-init authorises the key some seconds after the instance is "running". A host
    /// key that does not match what launch pinned is never retried. Without a known
    /// vCPU count, the host's `nproc` sets its slots.
    /// Returns the open client; the caller closes it.
    private func waitForSSH(_ address: TargetSpec.SSHAddress, targets: TargetOptions, global: GlobalOptions,
                            timeout: Duration) async throws -> (TargetSpec.SSHAddress, AgentClient) {
        let deadline = ContinuousClock.now + timeout
        var delay = Duration.milliseconds(500)
        while true {
            do {
                let client = try await SSHTargets.connect(address, options: targets, state: global.state, logger: logger)
                var ready = address
                if ready.slots == nil {
                    do {
                        let (result, stdout, _) = try await client.run(ExecParams(argv: ["nproc"]))
                        ready.slots = result.exitCode == 0 ? Int(String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
                    } catch {
                        client.close()
                        throw error
                    }
                    ready.slots = min(max(ready.slots ?? 1, 1), 1024)
                }
                return (ready, client)
            } catch let error as SSHError where error.code == .hostKeyMismatch {
                throw error
            } catch let error as AgentStartError {
                // SSH works and the agent itself cannot run: waiting for the boot changes nothing.
                throw error
            } catch let error as UsageError {
                throw error
            } catch {
                try Task.checkCancellation()
                guard ContinuousClock.now + delay < deadline else {
                    throw AutomationAWSError("\(address.host) did not accept SSH within \(options.bootTimeout): \(error)")
                }
                logger.debug("aws.instance.ssh-not-ready", metadata: ["ssh.host": "\(address.host)", "error": "\(error)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// After the run: terminate, or with --keep say how to reach the instances.
    private func finish(_ resolved: [TargetSpec]) async {
        guard options.keep else {
            await tearDown(reason: "run finished")
            return
        }
        lock.withLock { if teardown == nil { teardown = Task {} } }
        let key = automation.state.clientKeyPath(namespace: automation.ownership.namespace).path
        let lines = resolved.compactMap { spec -> String? in
            guard case .ssh(let address) = spec, address.identity == key else { return nil }
            return "--target \(TargetSpec.ssh(.init(user: address.user, host: address.host, port: address.port, slots: address.slots)))"
        }
        note("kept \(lines.count) instances (--keep); they terminate after \(options.instanceTTL). Reach them with:")
        writeAll(1, Array((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// Terminates every instance of this run's launches, once, whatever state they reached;
    /// a later caller (a repeated Ctrl-C) waits for the same teardown instead of skipping it.
    func tearDown(reason: String) async {
        let task = lock.withLock { () -> Task<Void, Never> in
            if let teardown { return teardown }
            // Detached: cancellation (Ctrl-C) of the caller must not stop the teardown itself.
            let task = Task.detached { [self] in
                if let phases { await phases.measure(.teardown) { await terminateAll(reason: reason) } } else { await terminateAll(reason: reason) }
            }
            teardown = task
            return task
        }
        await task.value
    }

    private func terminateAll(reason: String) async {
        let started = ContinuousClock.now
        var terminated = 0
        var failures: [String] = []
        for runId in runIds {
            do {
                if let ids = lock.withLock({ launchedIds[runId] }) {
                    terminated += try await automation.terminateLaunched(runId: runId, instanceIds: ids).count
                } else {
                    terminated += try await automation.terminateRun(runId: runId).count
                }
            } catch {
                failures.append("run \(runId): \(error)")
            }
        }
        if failures.isEmpty {
            note("terminated \(terminated) instances (\(reason)) in \(Self.seconds(ContinuousClock.now - started))")
        } else {
            for failure in failures {
                CommandRunner.report("could not terminate the instances of \(failure); they end at their expiry, or run "
                                     + "`automation terminate-ec2-instances --namespace \(automation.ownership.namespace)`")
            }
        }
    }

    private func note(_ message: String) {
        FileHandle.standardError.write(Data("automation: \(message)\n".utf8))
    }

    private static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
