import AWS
import Foundation
import Synchronization

/// One step of a run-tests invocation, in the order a run goes through them.
enum RunPhase: String, CaseIterable, Sendable {
    /// Finding the dev image by fingerprint, or building it first (`--dev-image`).
    case image
    /// AWS API calls until the `aws:N` instances are running (account state, image, RunInstances, waits).
    case launch
    /// Until each host's sshd answers with the pinned host key (on fresh instances: their boot).
    case connect
    /// Agent upload (when its SHA-256 is not there yet) and start.
    case deploy
    /// The host's filesystem for the work (e.g. /hgwork).
    case prepare
    /// The working copy to each target.
    case sync
    /// Whatever the suite needs before listing (the mercurial runner's `make local`).
    case build
    /// Listing the tests.
    case list
    /// Every slot running tests from the queue.
    case run
    /// Scratch removal, reports and recorded durations.
    case collect
    /// Terminating (and waiting for) the run's instances.
    case teardown
}

/// When each phase of one run-tests invocation started and ended, and the AWS calls it
/// made: written to the run directory as `phases.json` and summed up in one line.
///
/// Reached through ``current`` (a task local set by run-tests), so code deep in the
/// connect path records its phase without a recorder in its signature, and code with
/// no recorder around (tests, other commands) records nothing.
final class PhaseRecorder: Sendable {
    /// The recorder of the run-tests invocation this task belongs to.
    @TaskLocal static var current: PhaseRecorder?

    private struct Span {
        var start: ContinuousClock.Instant
        var end: ContinuousClock.Instant?
        /// When each host ended this phase.
        var hosts: [String: ContinuousClock.Instant] = [:]
    }

    private struct State {
        var spans: [RunPhase: Span] = [:]
        var runDirectory: URL?
        var runID: String?
    }

    private let state = Mutex(State())
    private let origin = ContinuousClock.now
    private let started = Date()
    /// Every AWS call of the run, by operation (the client of `aws:N` targets counts into it).
    let awsCalls = AWSCallMetrics()

    init() {}

    /// Runs `body` as (part of) `phase`: the phase spans from its earliest start to its latest end.
    static func measure<T>(_ phase: RunPhase, host: String? = nil, _ body: () async throws -> T) async rethrows -> T {
        guard let recorder = current else { return try await body() }
        return try await recorder.measure(phase, host: host, body)
    }

    func measure<T>(_ phase: RunPhase, host: String? = nil, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        begin(phase, at: start)
        defer { end(phase, host: host) }
        return try await body()
    }

    /// Marks `phase` as started now (or at `instant`), unless it started earlier.
    func begin(_ phase: RunPhase, at instant: ContinuousClock.Instant = .now) {
        state.withLock { state in
            var span = state.spans[phase] ?? Span(start: instant)
            span.start = min(span.start, instant)
            state.spans[phase] = span
        }
    }

    /// Marks `phase` (for `host`, when given) as ended now, unless it ended later.
    func end(_ phase: RunPhase, host: String? = nil, at instant: ContinuousClock.Instant = .now) {
        state.withLock { state in
            var span = state.spans[phase] ?? Span(start: instant)
            span.end = max(span.end ?? instant, instant)
            if let host { span.hosts[host] = instant }
            state.spans[phase] = span
        }
    }

    /// The run directory that `phases.json` goes to, once the run has one.
    func attach(runDirectory: URL, runID: String) {
        state.withLock { state in
            state.runDirectory = runDirectory
            state.runID = runID
        }
    }

    var runDirectory: URL? { state.withLock { $0.runDirectory } }

    /// AWS calls by operation name (`RunInstances`, `DescribeInstances`, …).
    var awsCallsByOperation: [String: Int] {
        var calls: [String: Int] = [:]
        for (key, count) in awsCalls.snapshot {
            calls[String(key.split(separator: ":").last ?? Substring(key)), default: 0] += count
        }
        return calls
    }

    /// The recorded phases in run order, as seconds from the start of the invocation.
    var phases: [(phase: RunPhase, start: Double, end: Double, hosts: [String: Double])] {
        let spans = state.withLock { $0.spans }
        return RunPhase.allCases.compactMap { phase in
            guard let span = spans[phase] else { return nil }
            let end = span.end ?? span.start
            return (phase, seconds(span.start), seconds(end), span.hosts.mapValues(seconds))
        }
    }

    /// `phases.json`: phases in run order (absent ones left out), AWS calls by operation.
    func json(targets: [String], now: ContinuousClock.Instant = .now) -> Data {
        let phaseObjects: [[String: Any]] = phases.map { entry in
            var object: [String: Any] = ["name": entry.phase.rawValue, "start": round3(entry.start), "end": round3(entry.end),
                                         "seconds": round3(entry.end - entry.start)]
            if !entry.hosts.isEmpty { object["hostsDone"] = entry.hosts.mapValues(round3) }
            return object
        }
        let calls = awsCallsByOperation
        var object: [String: Any] = [
            "started": started.formatted(.iso8601), "targets": targets, "total": round3(seconds(now)), "phases": phaseObjects,
            "awsCalls": calls, "awsCallsTotal": calls.values.reduce(0, +),
        ]
        if let runID = state.withLock({ $0.runID }) { object["runID"] = runID }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data("{}".utf8)
    }

    /// Writes `phases.json` into the run directory, when the run got that far; returns its path.
    func write(targets: [String]) throws -> URL? {
        guard let directory = runDirectory else { return nil }
        let file = directory.appendingPathComponent("phases.json")
        try json(targets: targets).write(to: file, options: .atomic)
        return file
    }

    /// One line: `phases: launch 1.2s, connect 8.3s, … (total 20.1s); AWS calls: 6 (DescribeInstances 3, …)`.
    func summary(now: ContinuousClock.Instant = .now) -> String {
        let parts = phases.map { String(format: "%@ %.1fs", $0.phase.rawValue, $0.end - $0.start) }
        var line = "phases: " + parts.joined(separator: ", ") + String(format: " (total %.1fs)", seconds(now))
        let calls = awsCallsByOperation
        if !calls.isEmpty {
            let detail = calls.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            line += "; AWS calls: \(calls.values.reduce(0, +)) (\(detail))"
        }
        return line
    }

    private func seconds(_ instant: ContinuousClock.Instant) -> Double {
        let duration = instant - origin
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}
