import AgentProtocol
import Scheduling

/// Where one slot runs its batches.
struct SlotContext: Sendable {
    /// The slot's identity in reports.
    let slot: SlotID
    /// The session with the slot's host.
    let client: AgentClient
    /// Index among the slots on the same host (distinct ports per slot).
    let hostSlotIndex: Int
    /// A directory of its own on the target (TMPDIR, run-tests.py's output dir).
    let scratch: String
    /// The exec it runs now (for Ctrl-C and the controller's own `--timeout`).
    let current: SlotExec

    /// Starts a runner process as the slot's current exec.
    func start(_ params: ExecParams) throws -> ExecCall {
        try current.start(client, params)
    }
}

/// What every runner needs from the command line.
struct RunnerSettings: Sendable {
    /// Absolute working directory on the targets (nil: the agent's own).
    var workdir: String?
    /// Python interpreter for the mercurial and pytest runners.
    var python: String
    /// Run tests as this user (through runuser) when the agent runs as root.
    var runAs: String?
    /// Passed to the runner both when listing and when running.
    var runnerArgs: [String]
    /// Passed only when listing (test selection after `--`).
    var selection: [String]
    /// Per-test time limit in seconds.
    var timeout: Double?
    /// Extra environment for tests.
    var env: [String: String]
}

/// One kind of test suite: how to find its tests and run a batch of them,
/// reporting each result the moment it is known.
protocol TestRunnerAdapter: Sendable {
    /// `command`, `mercurial` or `pytest` (also the duration store's key).
    var name: String { get }
    /// How much work to hand a slot at once.
    var batchPolicy: BatchPolicy { get }
    /// Typical start-up cost of one batch in seconds, for the `--dry-run` prediction.
    var batchOverhead: Double { get }
    /// Estimated seconds for a test when the project has no recorded durations yet.
    var typicalTestSeconds: Double { get }
    /// Once per target before any batch (builds, checks).
    func prepare(_ client: AgentClient, target: String) async throws
    /// What `prepare` is doing, for the per-host progress ("building"); nil when it is quick.
    var prepareActivity: String? { get }
    /// The suite's test names.
    func listTests(_ client: any TestLister) async throws -> [String]
    /// Runs `batch`, calling `report` for each test as it finishes. Tests it
    /// does not report count as lost. Throws when the slot's host is lost.
    func run(_ batch: Batch, in context: SlotContext, report: @escaping @Sendable (ResultMarker) async -> Void) async throws
}

extension TestRunnerAdapter {
    var prepareActivity: String? { nil }
}

extension RunnerSettings {
    /// Wraps argv to run as `runAs` and sets up the environment every runner shares.
    func params(_ argv: [String], scratch: String?, env extra: [String: String] = [:], timeout: Double? = nil) -> ExecParams {
        var env = self.env.merging(extra) { _, new in new }
        if let scratch { env["TMPDIR"] = scratch }
        var command = argv
        if let runAs {
            // runuser keeps the environment apart from HOME, USER, LOGNAME and SHELL.
            command = ["runuser", "-u", runAs, "--"] + argv
        }
        // Tests that start Python many times recompile every module when this is set.
        return ExecParams(argv: command, env: env.isEmpty ? nil : env, unsetEnv: ["PYTHONDONTWRITEBYTECODE"],
                          cwd: workdir, timeoutMs: timeout.map { Int($0 * 1000) }, killGraceMs: 2000)
    }
}

/// Why a runner could not do its work (listing failed, build failed): a usage-level problem.
struct RunnerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The runner's command could not be started on a target (ENOENT, EACCES for
/// argv[0], a missing working directory): no test can run, whatever it is.
struct SetupError: Error, CustomStringConvertible {
    /// The flag that gave the command.
    var flag: String
    var argv: [String]
    /// The agent's reason.
    var message: String

    var description: String {
        "\(flag) cannot start (\(message)): \(argv.joined(separator: " ")); check the command's path and that it is executable on the target"
    }
}
