import AgentProtocol
import Foundation
import Logging
import Scheduling

/// One `run-tests` invocation: connect, list, plan, run every slot from the
/// shared queue, then report and record durations.
struct RunSession {
    struct Target {
        let spec: TargetSpec
        let client: AgentClient
        let slots: [(slot: SlotID, hostIndex: Int)]
    }

    let command: RunTestsCommand
    /// The targets, with any `aws:N` already resolved to the instances launched for it.
    let specs: [TargetSpec]
    let logger: Logger
    let settings: RunnerSettings
    let runner: any TestRunnerAdapter
    let projectName: String

    init(command: RunTestsCommand, specs: [TargetSpec], logger: Logger) throws {
        self.command = command
        self.specs = specs
        self.logger = logger
        let local = specs.allSatisfy { if case .local = $0 { true } else { false } }
        let cwd = FileManager.default.currentDirectoryPath
        var workdir = command.workdir
        if let dir = workdir, !dir.hasPrefix("/") {
            guard local else { throw UsageError("--workdir must be absolute for ssh targets (got \(dir))") }
            workdir = URL(fileURLWithPath: dir, relativeTo: URL(fileURLWithPath: cwd)).standardizedFileURL.path
        } else if workdir == nil && local {
            workdir = cwd
        }
        let env = Dictionary(command.env.map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), String(parts[1]))
        }, uniquingKeysWith: { _, last in last })
        settings = RunnerSettings(workdir: workdir, python: command.python, runAs: command.runAs, runnerArgs: command.runnerArgs,
                                  selection: command.selection, timeout: command.timeout, env: env)
        var project = command.project ?? URL(fileURLWithPath: workdir ?? cwd).lastPathComponent
        switch command.runner {
        case .command:
            let list = try Self.template(command.listCommand!, "--list-command")
            let test = try Self.template(command.testCommand!, "--test-command")
            runner = CommandTestRunner(settings: settings, listCommand: list, testCommand: test)
            if command.project == nil { project += "-" + (list.words.last.map { URL(fileURLWithPath: $0).deletingLastPathComponent().lastPathComponent } ?? "suite") }
        case .mercurial:
            runner = MercurialTestRunner(settings: settings, build: !command.noBuild)
        case .pytest:
            runner = PytestTestRunner(settings: settings)
        }
        projectName = project
    }

    private static func template(_ text: String, _ flag: String) throws -> CommandTemplate {
        do {
            return try CommandTemplate(text)
        } catch let error as CommandTemplate.ParseError {
            throw UsageError("\(flag): \(error.description)")
        }
    }

    /// Slots of every target, numbered across the run; per-host numbers keep ports apart.
    func plannedSlots(_ specs: [TargetSpec]) -> [[(slot: SlotID, hostIndex: Int)]] {
        var perHost: [String: Int] = [:]
        var global = 0
        return specs.map { spec in
            (0..<(command.jobs ?? spec.slots)).map { _ in
                let hostIndex = perHost[spec.hostName, default: 0]
                perHost[spec.hostName] = hostIndex + 1
                defer { global += 1 }
                return (SlotID(target: spec.description, host: spec.hostName, index: global), hostIndex)
            }
        }
    }

    func listTests(_ client: any TestLister, with runner: any TestRunnerAdapter) async throws -> [String] {
        do {
            return try await runner.listTests(client)
        } catch let error as RunnerError {
            throw UsageError(error.description)
        }
    }

    /// Connects every target at once; one that cannot be reached is reported and its slots left out.
    func connect(_ specs: [TargetSpec], _ planned: [[(slot: SlotID, hostIndex: Int)]]) async throws -> (targets: [Target], unreachable: [String]) {
        var clients: [Int: AgentClient] = [:]
        var failures: [String] = []
        await withTaskGroup(of: (Int, Result<AgentClient, any Error>).self) { group in
            for (index, spec) in specs.enumerated() {
                group.addTask {
                    do { return (index, .success(try await Targets.connect(spec, options: command.targets, state: command.global.state, logger: logger))) }
                    catch { return (index, .failure(error)) }
                }
            }
            for await (index, result) in group {
                switch result {
                case .success(let client): clients[index] = client
                case .failure(let error): failures.append("\(specs[index]): \(error)")
                }
            }
        }
        for failure in failures { CommandRunner.report("cannot reach target \(failure)") }
        let targets = specs.indices.compactMap { index in
            clients[index].map { Target(spec: specs[index], client: $0, slots: planned[index]) }
        }
        guard !targets.isEmpty else {
            throw AgentClientError(.transport, "no target could be reached")
        }
        return (targets, failures.map { "\($0) (unreachable at the start)" })
    }

    /// One slot's loop: take a batch, run it, report each result, until the queue is done or the slot dies.
    func work(_ context: SlotContext, runner: any TestRunnerAdapter, base: String, coordinator: RunCoordinator) async {
        do {
            try await prepareScratch(context, base: base)
        } catch {
            await coordinator.slotLost(context.slot, reason: "cannot create \(context.scratch): \(error)", hadBatch: false)
            return
        }
        while let batch = await coordinator.next(for: context.slot) {
            do {
                try await runner.run(batch, in: context) { marker in
                    context.current.progressed()
                    await coordinator.record(marker, slot: context.slot)
                }
                context.current.finished()
                await coordinator.finishBatch(on: context.slot)
            } catch let error as SetupError {
                // The test command cannot start: stop the run, nothing else would start either.
                context.current.finished()
                await coordinator.setupFailed(on: context.slot, target: context.slot.target, error)
                return
            } catch {
                context.current.finished()
                await coordinator.slotLost(context.slot, reason: "\(error)", hadBatch: true)
                return
            }
        }
    }

    private func prepareScratch(_ context: SlotContext, base: String) async throws {
        let client = context.client
        if (try? await client.stat(base)) == nil {
            do {
                // The agent removes it if this run never gets to (a vanished controller).
                try await client.mkdir(base, mode: 0o755, scratch: !command.keepScratch)
            } catch {
                // Another slot of the same host may have created it first.
                if (try? await client.stat(base)) == nil { throw error }
            }
        }
        try await client.mkdir(context.scratch, mode: 0o777)
        // The test user (--run-as) writes here too; mkdir's mode is cut by the umask.
        try await client.chmod(context.scratch, mode: 0o777)
    }
}
