import AgentProtocol
import Foundation
import Scheduling
import Synchronization

/// The run itself, phase by phase, with its exit paths: Ctrl-C in any
/// phase, targets unreachable or lost, reports that cannot be written.
extension RunSession {
    /// How long the first Ctrl-C waits for cancelled tests to end before abandoning their sessions.
    static let collectSeconds = 15.0
    /// Bound on removing one target's scratch directories at the end, beyond
    /// `--lost-after` (a host that stops answering is abandoned by its
    /// heartbeat first, which ends the remove at once).
    static let cleanupMarginSeconds = 60.0

    func run() async throws -> Int32 {
        let state = command.global.state
        let store = DurationStore(stateDirectory: URL(fileURLWithPath: try state.directory("")), project: projectName, runner: runner.name)
        var history = (try? store.load()) ?? DurationHistory()
        let planned = plannedSlots(specs)
        let allSlots = planned.flatMap { $0.map(\.slot) }
        // A report that cannot be written must fail the run before any test runs, not after.
        try command.checkReportPaths()

        if command.dryRun {
            let names: [String]
            if case .local = specs[0], !syncEnabled {
                let (lister, close) = try await localLister()
                defer { close() }
                names = try await listTests(lister, with: runner)
            } else {
                let client = try await Targets.connect(specs[0], options: command.targets, state: command.global.state, logger: logger)
                defer { client.close() }
                let synced = try await syncTargets([Target(spec: specs[0], client: client, slots: [])])[0]
                names = try await listTests(client, with: synced)
            }
            let estimates = history.estimates(for: names, fallback: runner.typicalTestSeconds)
            let known = names.filter { history.known($0) != nil }.count
            writeAll(1, Array(RunPlan.render(estimates: estimates, known: known, unknownEstimate: history.unknownEstimate(fallback: runner.typicalTestSeconds), slots: allSlots,
                                             policy: runner.batchPolicy, runner: runner.name, batchOverhead: runner.batchOverhead).utf8))
            return 0
        }

        let interrupts = InterruptMonitor(
            exitOnSecond: false,
            message: "automation: interrupted: no new tests start, running ones are cancelled, then reports are written and scratch directories removed (Ctrl-C again: do not wait for running tests)")
        defer { interrupts.stop() }

        // Before the run: Ctrl-C abandons whatever is under way (nothing to collect yet).
        guard let (targets, unreachable) = try await untilInterrupted(interrupts, { try await connect(specs, planned) }) else {
            return ExitCodes.interrupted
        }
        defer { for target in targets { target.client.close() } }
        let abandonAll: @Sendable (String) -> Void = { reason in for target in targets { target.client.abandon(reason) } }
        let heartbeats = targets.map { TargetHeartbeat(client: $0.client, label: $0.spec.description, lostAfter: command.lostAfter) }
        for heartbeat in heartbeats {
            heartbeat.start { reason in CommandRunner.report("target \(heartbeat.label) lost: \(reason)") }
        }
        defer { for heartbeat in heartbeats { heartbeat.stop() } }

        let progress = ProgressPrinter()
        let names: [String]
        let runners: [any TestRunnerAdapter]
        let testsStarted = OnceFlag()
        do {
            interrupts.onInterrupt { if !testsStarted.isSet { abandonAll("interrupted before the tests started") } }
            // Each target gets the runner for its own synced copy (or the shared --workdir).
            let synced = try await PhaseRecorder.measure(.sync) { try await syncTargets(targets) }
            runners = synced
            try await PhaseRecorder.measure(.build) { try await prepareTargets(targets, runners: synced, progress: progress) }
            names = try await PhaseRecorder.measure(.list) { try await listTests(targets[0].client, with: synced[0]) }
        } catch where interrupts.fired {
            return ExitCodes.interrupted
        }
        guard !names.isEmpty else { throw UsageError("the \(runner.name) runner listed no tests (selection: \(settings.selection.joined(separator: " ")))") }
        let estimates = history.estimates(for: names, fallback: runner.typicalTestSeconds)
        let slots = targets.flatMap { $0.slots.map(\.slot) }
        let queue = TestQueue(tests: estimates, slots: slots, policy: runner.batchPolicy, retryFailed: command.retryFailed)

        let runDir = try RunDirectory(stateRoot: try state.directory(""), project: projectName)
        PhaseRecorder.current?.attach(runDirectory: runDir.path, runID: runDir.runID)
        let coordinator = RunCoordinator(queue: queue, progress: progress, events: runDir.events)
        progress.note("running \(names.count) tests on \(slots.count) slots (\(targets.map(\.spec.description).joined(separator: ", "))); run \(runDir.runID)")
        let started = Date()
        // One base per target: two targets on one machine may be different users. A
        // prepared work area (/hgwork) holds it, so tests run on the filesystem asked for.
        let bases = targets.enumerated().map { index, target in
            "\(target.spec.workRoot.map { $0 + "/tmp" } ?? "/tmp")/automation-run-\(runDir.runID)-t\(index)"
        }
        @Sendable func base(_ index: Int) -> String { bases[index] }
        let contexts = targets.enumerated().flatMap { index, target in
            target.slots.map { slot, hostIndex in
                (index, SlotContext(slot: slot, client: target.client, hostSlotIndex: hostIndex,
                                    scratch: "\(base(index))/slot-\(slot.index)", current: SlotExec()))
            }
        }
        let workersDone = OnceFlag()
        testsStarted.set()
        interrupts.onInterrupt {
            Task {
                await coordinator.stop(reason: "interrupted")
                for (_, context) in contexts { context.current.cancel() }
                try? await Task.sleep(for: .seconds(Self.collectSeconds))
                if !workersDone.isSet { abandonAll("interrupted: tests did not end within \(Int(Self.collectSeconds)) s of their cancel") }
            }
        }
        interrupts.onRepeat {
            Task { await coordinator.stop(reason: "interrupted") }
            abandonAll("interrupted twice")
        }
        let enforceLimit = settings.timeout.map { $0 + 2 + max(10, $0 / 2) }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if progress.live { await coordinator.tick() }
                guard let enforceLimit else { continue }
                for (_, context) in contexts where context.current.enforce(limit: enforceLimit) {
                    progress.note("\(context.slot): nothing from its test for \(Int(enforceLimit)) s, past --timeout; the controller ends it")
                }
            }
        }
        await PhaseRecorder.measure(.run) {
            await withTaskGroup(of: Void.self) { group in
                for (index, context) in contexts {
                    group.addTask { await work(context, runner: runners[index], base: base(index), coordinator: coordinator) }
                }
            }
        }
        workersDone.set()
        PhaseRecorder.current?.begin(.collect)
        ticker.cancel()
        progress.end()
        if !command.keepScratch {
            await withTaskGroup(of: Void.self) { group in
                for (index, target) in targets.enumerated() {
                    group.addTask {
                        _ = try? await Deadline.race(seconds: command.lostAfter + Self.cleanupMarginSeconds) {
                            try await target.client.remove(base(index), recursive: true, missingOK: true)
                        }
                    }
                }
            }
        }

        let (attempts, outcomes, lost, quarantined) = await coordinator.results()
        let lostTargets = unreachable + lost
        var report = RunReport(runID: runDir.runID, project: projectName, runner: runner.name, started: started, finished: Date(),
                               slots: slots, attempts: attempts, outcomes: outcomes,
                               lostTargets: lostTargets, quarantined: quarantined, interrupted: interrupts.fired)
        let setupError = await coordinator.setupError
        if setupError != nil { report.stopReason = "setup error: the test command cannot start" }
        let writeFailures = runDir.write(report, junit: command.junit, json: command.jsonReport, html: command.html)
        // A stall (a stopped host that came back) is not the test's duration.
        // Two targets may share a label (local:1 twice): a stall of either counts for both.
        let byTarget = Dictionary(grouping: heartbeats, by: \.label)
        history.record(attempts.filter { attempt in
            !(byTarget[attempt.slot.target] ?? []).contains { $0.overlapsStall(start: attempt.start, end: attempt.end) }
        })
        do { try store.save(history) } catch { logger.warning("cannot save durations", metadata: ["file": "\(store.path.path)", "error": "\(error)"]) }
        PhaseRecorder.current?.end(.collect)

        var lines = ["reports: \(runDir.path.path) (junit.xml, events.jsonl, report.html)"]
        lines += TextSummary.lines(report)
        writeAll(1, Array((lines.joined(separator: "\n") + "\n").utf8))
        for failure in writeFailures { CommandRunner.report(failure) }
        if let setupError { CommandRunner.report("setup error: \(setupError); no test ran to the end, none counts as failed") }
        return exitCode(report, interrupted: interrupts.fired, writeFailed: !writeFailures.isEmpty, setupFailed: setupError != nil)
    }

    /// 130 interrupted; the setup-error code (a test command that cannot start); 255
    /// infrastructure errors or a report not written; the lost-targets code; 1 tests failed; 0.
    func exitCode(_ report: RunReport, interrupted: Bool, writeFailed: Bool, setupFailed: Bool = false) -> Int32 {
        if interrupted { return ExitCodes.interrupted }
        if setupFailed { return ExitCodes.setupFailed }
        if report.infrastructureErrors > 0 || writeFailed { return ExitCodes.infrastructure }
        // Tests that never ran are never a success, even when lost targets are allowed.
        if report.notRun > 0 || (!report.lostTargets.isEmpty && !command.allowLostTargets) { return ExitCodes.targetsLost }
        return report.failed > 0 ? ExitCodes.testsFailed : 0
    }

    /// Each target's `prepare` (the runner's build) in parallel, with per-host progress when it
    /// is one that takes a while: between the sync and the first test there is otherwise nothing
    /// to see for a minute.
    func prepareTargets(_ targets: [Target], runners: [any TestRunnerAdapter], progress: ProgressPrinter) async throws {
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                progress.tickHosts()
            }
        }
        defer {
            ticker.cancel()
            progress.endHosts()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, target) in targets.enumerated() {
                let runner = runners[index], host = target.spec.description
                group.addTask {
                    guard let activity = runner.prepareActivity else { return try await runner.prepare(target.client, target: host) }
                    progress.hostStarted(host, activity)
                    do {
                        try await runner.prepare(target.client, target: host)
                    } catch {
                        progress.hostFinished(host, failed: true)
                        throw error
                    }
                    progress.hostFinished(host)
                }
            }
            try await group.waitForAll()
        }
    }

    /// Runs `operation` unless Ctrl-C comes first (then nil; the operation is left to end on its own).
    private func untilInterrupted<T: Sendable>(_ interrupts: InterruptMonitor, _ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
        let result = try await Deadline.race(operation, against: {
            await interrupts.wait()
            // stop() also ends the wait; only a real Ctrl-C wins the race.
            if !interrupts.fired { try? await Task.sleep(for: .seconds(86_400 * 365)) }
        })
        return interrupts.fired ? nil : result
    }
}

/// A one-way flag shared across tasks.
final class OnceFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
