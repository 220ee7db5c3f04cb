import Foundation

/// Everything a finished run knows, the input of every report writer.
public struct RunReport: Sendable {
    /// Identifies the run (also the name of its run directory).
    public var runID: String
    public var project: String
    public var runner: String
    public var started: Date
    public var finished: Date
    public var slots: [SlotID]
    /// Every attempt, in the order results arrived.
    public var attempts: [TestAttempt]
    /// One per test, sorted by name.
    public var outcomes: [TestOutcome]
    /// Targets that could not be reached or were lost during the run, with why (`ssh://h: connection lost`).
    public var lostTargets: [String]
    /// Slots taken out of the run because their tests failed far faster than usual, with why.
    public var quarantined: [String]
    /// True when the user interrupted the run.
    public var interrupted: Bool
    /// Why the run stopped early when that was not an interrupt (a setup error), for the summary.
    public var stopReason: String?

    /// Creates a report; outcomes are sorted by name.
    public init(
        runID: String, project: String, runner: String, started: Date, finished: Date,
        slots: [SlotID], attempts: [TestAttempt], outcomes: [TestOutcome],
        lostTargets: [String] = [], quarantined: [String] = [], interrupted: Bool = false
    ) {
        self.lostTargets = lostTargets
        self.quarantined = quarantined
        self.interrupted = interrupted
        self.runID = runID
        self.project = project
        self.runner = runner
        self.started = started
        self.finished = finished
        self.slots = slots
        self.attempts = attempts
        self.outcomes = outcomes.sorted { $0.name < $1.name }
    }

    /// Tests per verdict.
    public var counts: [TestVerdict: Int] {
        outcomes.reduce(into: [:]) { $0[$1.verdict, default: 0] += 1 }
    }

    /// Counted as the closing line counts them: errors and timeouts are failures.
    public var passed: Int { counts[.passed] ?? 0 }
    public var failed: Int { outcomes.filter { $0.verdict.isFailure }.count }
    public var skipped: Int { counts[.skipped] ?? 0 }
    public var flaky: Int { counts[.flaky] ?? 0 }
    /// Tests that never ran to completion (interrupted, no slot left): not failures.
    public var notRun: Int { counts[.notRun] ?? 0 }
    /// Tests that ended as errors because of the machinery, not the test.
    public var infrastructureErrors: Int { outcomes.filter(\.isInfrastructureError).count }

    /// `N passed, N failed, N skipped`, then `, N not run` when some never ran.
    public var closingLine: String {
        "\(passed) passed, \(failed) failed, \(skipped) skipped" + (notRun > 0 ? ", \(notRun) not run" : "")
    }

    /// Wall time from the first test's start to the last test's end.
    public var makespan: Double {
        let timed = attempts.filter { !$0.infrastructure }
        guard let first = timed.map(\.start).min(), let last = timed.map(\.end).max() else { return 0 }
        return last.timeIntervalSince(first)
    }

    /// `max(longest attempt, total / slots)` over what actually ran.
    public var lowerBound: Double {
        Makespan.lowerBound(durations: attempts.filter { !$0.infrastructure }.map(\.duration), slots: max(1, slots.count))
    }

    /// The slowest attempts, longest first.
    public func slowest(_ count: Int) -> [TestAttempt] {
        Array(attempts.filter { !$0.infrastructure }.sorted { ($0.duration, $1.name) > ($1.duration, $0.name) }.prefix(count))
    }

    /// Tests whose verdict fails the run, by name.
    public var failures: [TestOutcome] { outcomes.filter { $0.verdict.isFailure } }
}
