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
    let logger: Logger
    let settings: RunnerSettings
    let runner: any TestRunnerAdapter
    let projectName: String

    init(command: RunTestsCommand, logger: Logger) throws {
        self.command = command
        self.logger = logger
        let specs = try command.targets.specs()
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
    private func plannedSlots(_ specs: [TargetSpec]) -> [[(slot: SlotID, hostIndex: Int)]] {
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

    func run() async throws -> Int32 {
        let specs = try command.targets.specs()
        let state = command.global.state
        let store = DurationStore(stateDirectory: URL(fileURLWithPath: try state.directory("")), project: projectName, runner: runner.name)
        var history = (try? store.load()) ?? DurationHistory()
        let planned = plannedSlots(specs)
        let allSlots = planned.flatMap { $0.map(\.slot) }

        if command.dryRun {
            let client = try await Targets.connect(specs[0], options: command.targets, state: command.global.state, logger: logger)
            defer { client.close() }
            let lister = try await syncTargets([Target(spec: specs[0], client: client, slots: [])])[0]
            let names = try await listTests(client, with: lister)
            let estimates = history.estimates(for: names, fallback: runner.typicalTestSeconds)
            let known = names.filter { history.known($0) != nil }.count
            writeAll(1, Array(RunPlan.render(estimates: estimates, known: known, unknownEstimate: history.unknownEstimate(fallback: runner.typicalTestSeconds), slots: allSlots,
                                             policy: runner.batchPolicy, runner: runner.name, batchOverhead: runner.batchOverhead).utf8))
            return 0
        }

        let interrupts = InterruptMonitor()
        defer { interrupts.stop() }
        let targets = try await connect(specs, planned)
        defer { for target in targets { target.client.close() } }
        interrupts.onInterrupt { for target in targets { target.client.close() } }
        let runners = try await syncTargets(targets)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask { try await runners[index].prepare(target.client, target: target.spec.description) }
            }
            try await group.waitForAll()
        }
        let names = try await listTests(targets[0].client, with: runners[0])
        guard !names.isEmpty else { throw UsageError("the \(runner.name) runner listed no tests (selection: \(settings.selection.joined(separator: " ")))") }
        let estimates = history.estimates(for: names, fallback: runner.typicalTestSeconds)
        let slots = targets.flatMap { $0.slots.map(\.slot) }
        let queue = TestQueue(tests: estimates, slots: slots, policy: runner.batchPolicy, retryFailed: command.retryFailed)

        let runDir = try RunDirectory(stateRoot: try state.directory(""), project: projectName)
        let progress = ProgressPrinter()
        let coordinator = RunCoordinator(queue: queue, progress: progress, events: runDir.events)
        progress.note("running \(names.count) tests on \(slots.count) slots (\(targets.map(\.spec.description).joined(separator: ", "))); run \(runDir.runID)")
        let started = Date()
        let scratchBase = "/tmp/automation-run-\(runDir.runID)"
        let ticker = Task {
            while !Task.isCancelled && progress.live {
                try? await Task.sleep(for: .seconds(1))
                await coordinator.tick()
            }
        }
        // One base per target: two targets on one machine may be different users.
        func base(_ index: Int) -> String { "\(scratchBase)-t\(index)" }
        await withTaskGroup(of: Void.self) { group in
            for (index, target) in targets.enumerated() {
                for (slot, hostIndex) in target.slots {
                    let context = SlotContext(slot: slot, client: target.client, hostSlotIndex: hostIndex,
                                              scratch: "\(base(index))/slot-\(slot.index)")
                    group.addTask { await work(context, runner: runners[index], base: base(index), coordinator: coordinator) }
                }
            }
        }
        ticker.cancel()
        progress.end()
        if !command.keepScratch {
            for (index, target) in targets.enumerated() { try? await target.client.remove(base(index), recursive: true, missingOK: true) }
        }

        let (attempts, outcomes) = await coordinator.results()
        let report = RunReport(runID: runDir.runID, project: projectName, runner: runner.name, started: started, finished: Date(),
                               slots: slots, attempts: attempts, outcomes: outcomes)
        try runDir.write(report, junit: command.junit, json: command.jsonReport, html: command.html)
        history.record(attempts)
        do { try store.save(history) } catch { logger.warning("cannot save durations", metadata: ["file": "\(store.path.path)", "error": "\(error)"]) }

        var lines = ["reports: \(runDir.path.path) (junit.xml, events.jsonl, report.html)"]
        lines += TextSummary.lines(report)
        writeAll(1, Array((lines.joined(separator: "\n") + "\n").utf8))
        if interrupts.fired { return ExitCodes.interrupted }
        if report.infrastructureErrors > 0 { return ExitCodes.infrastructure }
        return report.failed > 0 ? ExitCodes.testsFailed : 0
    }

    private func listTests(_ client: AgentClient, with runner: any TestRunnerAdapter) async throws -> [String] {
        do {
            return try await runner.listTests(client)
        } catch let error as RunnerError {
            throw UsageError(error.description)
        }
    }

    /// Connects every target at once; one that cannot be reached is reported and its slots left out.
    private func connect(_ specs: [TargetSpec], _ planned: [[(slot: SlotID, hostIndex: Int)]]) async throws -> [Target] {
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
        return targets
    }

    /// One slot's loop: take a batch, run it, report each result, until the queue is done or the slot dies.
    private func work(_ context: SlotContext, runner: any TestRunnerAdapter, base: String, coordinator: RunCoordinator) async {
        do {
            try await prepareScratch(context, base: base)
        } catch {
            await coordinator.slotLost(context.slot, reason: "cannot create \(context.scratch): \(error)", hadBatch: false)
            return
        }
        while let batch = await coordinator.next(for: context.slot) {
            do {
                try await runner.run(batch, in: context) { marker in
                    await coordinator.record(marker, slot: context.slot)
                }
                await coordinator.finishBatch(on: context.slot)
            } catch {
                await coordinator.slotLost(context.slot, reason: "\(error)", hadBatch: true)
                return
            }
        }
    }

    private func prepareScratch(_ context: SlotContext, base: String) async throws {
        let client = context.client
        if (try? await client.stat(base)) == nil {
            do {
                try await client.mkdir(base, mode: 0o755)
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
