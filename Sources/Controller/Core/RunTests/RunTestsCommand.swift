import ArgumentParser
import Foundation
import Scheduling

/// `automation run-tests`: one queue feeding every slot on every target,
/// each result shown the moment it is known, reports at the end.
struct RunTestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-tests",
        abstract: "Run a test suite across every slot of every target from one longest-first queue.",
        discussion: """
            Runners: command (--list-command, --test-command 'CMD {test}': exit 0 pass, 80 skip, else fail), \
            mercurial (tests/run-tests.py under --workdir), pytest. Arguments after -- select tests \
            (given to the listing); --runner-arg values go to the runner every time. \
            Reports (junit.xml, events.jsonl, report.html) go to a run directory under the state \
            directory, whose path is printed. Exit codes: 0 all passed (flaky tests included); \
            1 tests failed; 3 a target was unreachable or lost, or tests did not run (unless \
            --allow-lost-targets, and every test ran); 5 setup error (the --test-command could not start \
            on a target: the run stops, no test counts as failed); 64 usage error (also an unwritable \
            report path, a list command that cannot start, an arm64 aws:N type, checked before anything runs); 130 interrupted (the first Ctrl-C cancels running tests and \
            still writes reports, with never-run tests as "not run"); 255 infrastructure error (a test \
            lost twice with its slot, a runner that reports nothing, no target reachable, a report \
            that could not be written). See docs/run-tests.md.
            """
    )

    enum RunnerKind: String, ExpressibleByArgument, CaseIterable, Sendable {
        case command, mercurial, pytest
    }

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions
    @OptionGroup var cloud: AWSTargetOptions

    @Option(name: [.customShort("j"), .long], help: "Slots per target (default: the N of local:N / ssh://host/N, else 1).")
    var jobs: Int?

    @Option(help: "command, mercurial or pytest.")
    var runner: RunnerKind

    @Option(name: .customLong("list-command"), help: "command runner: prints the test names, one per line.")
    var listCommand: String?

    @Option(name: .customLong("test-command"), help: "command runner: runs one test; {test} is replaced by its name (appended if absent).")
    var testCommand: String?

    @Option(help: "Working directory on the targets: the suite's root (default: the current directory for local targets).")
    var workdir: String?

    @Flag(inversion: .prefixedNo, help: "Sync the working copy to each target first, into ~/.cache/automation/work/<project> there (default: on for ssh targets without --workdir; see docs/sync.md).")
    var sync: Bool?

    @Option(help: "Python for the mercurial and pytest runners.")
    var python = "python3"

    @Option(name: .customLong("run-as"), help: "Run tests as this user (with runuser; the agent must run as root).")
    var runAs: String?

    @Option(name: .customLong("runner-arg"), help: ArgumentHelp("An argument for the runner, both when listing and running; repeatable.", valueName: "arg"))
    var runnerArgs: [String] = []

    @Option(name: .customLong("env"), help: ArgumentHelp("Set a variable for the tests; repeatable.", valueName: "NAME=VALUE"))
    var env: [String] = []

    @Option(parsing: .unconditional, help: "Per-test time limit in seconds.")
    var timeout: Double?

    @Option(name: .customLong("lost-after"), parsing: .unconditional, help: "Declare a target lost when its agent has not answered a ping for this many seconds (stopped host, half-open connection, partition).")
    var lostAfter = TargetHeartbeat.defaultLostAfter

    @Flag(name: .customLong("allow-lost-targets"), help: "Exit 0 or 1 as the tests decide even when a target was unreachable or lost (tests that never ran still exit 3).")
    var allowLostTargets = false

    @Option(name: .customLong("retry-failed"), help: "Re-run a failing test up to N times, on another slot when there is one; fail-then-pass is reported as flaky.")
    var retryFailed = 0

    @Flag(name: .customLong("dry-run"), help: "List the tests and print the plan (slots, predicted makespan, lower bound) without running them.")
    var dryRun = false

    @Option(help: "Also write the JUnit XML report here.")
    var junit: String?

    @Option(name: .customLong("json-report"), help: "Also write the JSON-lines report here.")
    var jsonReport: String?

    @Option(help: "Also write the HTML report here.")
    var html: String?

    @Option(help: "Name under which durations and runs are recorded (default: the working directory's name).")
    var project: String?

    @Flag(name: .customLong("no-build"), help: "mercurial runner: fail instead of running `make local` when the in-tree hg is missing.")
    var noBuild = false

    @Flag(name: .customLong("keep-scratch"), help: "Keep the per-slot scratch directories on the targets.")
    var keepScratch = false

    @Flag(help: "Print how long each phase took (launch, connect, deploy, sync, build, list, run, collect, teardown) and the AWS calls made, in one line on stderr at the end (always on with aws:N targets). Every run writes them to phases.json in its run directory.")
    var timings = false

    @Argument(parsing: .captureForPassthrough, help: "Test selection for the runner's listing, after --.")
    var selection: [String] = []

    mutating func validate() throws {
        if selection.first == "--" { selection.removeFirst() }
        if let jobs, !(1...1024).contains(jobs) { throw ValidationError("--jobs takes 1 to 1024, got \(jobs)") }
        if !(0...100).contains(retryFailed) { throw ValidationError("--retry-failed takes 0 to 100, got \(retryFailed)") }
        try DurationOption.check(timeout, flag: "--timeout")
        try DurationOption.check(lostAfter, flag: "--lost-after", min: 1, max: 3600)
        for item in env where !item.contains("=") || item.hasPrefix("=") {
            throw ValidationError("--env takes NAME=VALUE, got '\(item)'")
        }
        if sync == true && workdir != nil {
            throw ValidationError("--sync chooses the working directory on each target; drop --workdir or use --no-sync")
        }
        if runner == .command {
            guard listCommand != nil, testCommand != nil else {
                throw ValidationError("--runner command needs --list-command and --test-command")
            }
        } else if listCommand != nil || testCommand != nil {
            throw ValidationError("--list-command and --test-command belong to --runner command")
        }
    }

    func run() async throws {
        // An agent that dies turns our next write into EPIPE, which must be
        // a lost slot, not the death of the whole run.
        signal(SIGPIPE, SIG_IGN)
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            // Before anything is launched or run: a report path that cannot be written.
            try checkReportPaths()
            let specs = try targets.specs()
            let fleets = specs.compactMap(\.awsTarget).map { target in
                let type = target.instanceType ?? cloud.instanceType
                return CloudPlan.Fleet(count: target.count, instanceType: type, slotsPerInstance: jobs ?? InstanceTypes.vcpus(type) ?? 1)
            }
            // Before a plan or a launch: an arm64 type would get an x86_64 image and agent.
            for target in specs.compactMap(\.awsTarget) {
                let flag = target.instanceType.map { "--target aws:\(target.count):\($0)" } ?? "--instance-type"
                if let refusal = InstanceTypes.arm64Refusal(target.instanceType ?? cloud.instanceType, flag: flag) { throw UsageError(refusal) }
            }
            var command = self
            if !fleets.isEmpty, sync ?? (workdir == nil) {
                // Before the account is asked or anything launched: what the sync and the runner need here.
                let preflight = try CloudPreflight.check(self, cwd: FileManager.default.currentDirectoryPath,
                                                         environment: ProcessInfo.processInfo.environment)
                FileHandle.standardError.write(Data("working copy \(preflight.root) (\(preflight.vcs.rawValue))\n".utf8))
                command.project = project ?? URL(fileURLWithPath: preflight.root).lastPathComponent
                if dryRun { command.workdir = preflight.root }
            }
            if dryRun && !fleets.isEmpty {
                // Plan only: list on this machine's working copy, launch nothing.
                return try await RunSession(command: command, specs: [.local(slots: 1)], logger: logger).cloudPlan(fleets)
            }
            if specs.contains(where: { if case .local = $0 { false } else { true } }) {
                // Before instances are launched or hosts connected: an agent that cannot be uploaded.
                try AgentBinary.requireStatic(try AgentBinary.locate(explicit: targets.agentBinary))
            }
            let phases = PhaseRecorder()
            defer { reportPhases(phases, specs: specs) }
            return try await PhaseRecorder.$current.withValue(phases) {
                try await CloudRun.with(specs, options: cloud, targets: targets, global: global, jobs: jobs, logger: logger) { specs in
                    try await RunSession(command: command, specs: specs, logger: logger).run()
                }
            }
        }
    }

    /// Each report path asked for is creatable (a probe file made and removed in its directory).
    func checkReportPaths() throws {
        for (flag, file) in [("--junit", junit), ("--json-report", jsonReport), ("--html", html)] {
            if let file { try RunDirectory.checkWritable(file, flag: flag) }
        }
    }

    /// After teardown, however the run ended: phases.json beside the reports, and with
    /// --timings or aws:N targets the one-line summary.
    private func reportPhases(_ phases: PhaseRecorder, specs: [TargetSpec]) {
        do {
            _ = try phases.write(targets: specs.map(\.description))
        } catch {
            CommandRunner.report("cannot write phases.json: \(RunDirectory.reason(error))")
        }
        if timings || specs.contains(where: { $0.awsTarget != nil }) {
            FileHandle.standardError.write(Data("automation: \(phases.summary())\n".utf8))
        }
    }
}
