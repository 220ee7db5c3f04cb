import Foundation
import Glibc
import Scheduling
import Synchronization

/// What the user sees while tests run. On a terminal: one live line on
/// stderr (done/total, failures, elapsed, ETA) with each failure printed
/// above it as it happens. Otherwise: one plain line per test on stdout.
/// Before the tests, the per-host phase that can take a minute (the runner's
/// build) gets the same treatment: a live line of every host's state and
/// elapsed time on a terminal, a line per host at its start and end otherwise.
final class ProgressPrinter: Sendable {
    struct Snapshot: Sendable {
        var done = 0
        var total = 0
        var failed = 0
        var elapsed = 0.0
        var eta = 0.0
        var running = 0
    }

    /// One host's part of a phase before the tests.
    struct HostPhase: Sendable, Equatable {
        var host: String
        var activity: String
        var started: Date
        var finished: Date?
        var failed = false
    }

    private struct State {
        var snapshot = Snapshot()
        var lineShown = false
        var hosts: [HostPhase] = []
    }

    let live: Bool
    private let state = Mutex(State())
    /// Where the bytes go (descriptor 1 or 2): the terminal, or a test's buffer.
    private let output: @Sendable (Int32, [UInt8]) -> Void
    /// Columns of the terminal: a live line longer than that would wrap and could not be redrawn in place.
    private let columns: @Sendable () -> Int

    init(live: Bool = isatty(2) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb",
         output: @escaping @Sendable (Int32, [UInt8]) -> Void = { writeAll($0, $1) },
         columns: @escaping @Sendable () -> Int = ProgressPrinter.terminalColumns) {
        self.live = live
        self.output = output
        self.columns = columns
    }

    /// Columns of the terminal on stderr; 80 when it does not say.
    static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// `host` began `activity` (before any test): a plain line, or the live line redrawn.
    func hostStarted(_ host: String, _ activity: String, at now: Date = Date()) {
        state.withLock { state in
            state.hosts.removeAll { $0.host == host }
            state.hosts.append(HostPhase(host: host, activity: activity, started: now))
            if live {
                let text = clearLine(&state) + hostsLine(state.hosts, now: now)
                state.lineShown = true
                output(2, Array(text.utf8))
            } else {
                output(2, Array("automation: \(host): \(activity)\n".utf8))
            }
        }
    }

    /// `host` finished its activity (or failed it).
    func hostFinished(_ host: String, failed: Bool = false, at now: Date = Date()) {
        state.withLock { state in
            guard let index = state.hosts.firstIndex(where: { $0.host == host && $0.finished == nil }) else { return }
            state.hosts[index].finished = now
            state.hosts[index].failed = failed
            let phase = state.hosts[index]
            if live {
                let text = clearLine(&state) + hostsLine(state.hosts, now: now)
                state.lineShown = true
                output(2, Array(text.utf8))
            } else {
                let seconds = String(format: "%.1f", now.timeIntervalSince(phase.started))
                output(2, Array("automation: \(host): \(phase.activity) \(failed ? "failed after" : "done in") \(seconds) s\n".utf8))
            }
        }
    }

    /// Redraws the hosts' live line with fresh elapsed times (called on a timer).
    func tickHosts(at now: Date = Date()) {
        guard live else { return }
        state.withLock { state in
            guard !state.hosts.isEmpty else { return }
            let text = clearLine(&state) + hostsLine(state.hosts, now: now)
            state.lineShown = true
            output(2, Array(text.utf8))
        }
    }

    /// The phase is over: the live line goes, and the next phase starts clean.
    func endHosts() {
        state.withLock { state in
            let text = clearLine(&state)
            state.hosts = []
            if !text.isEmpty { output(2, Array(text.utf8)) }
        }
    }

    /// `host i-…: building (12 s) · host …: building done (31 s)`, hosts still at work
    /// first, cut to the terminal's width.
    private func hostsLine(_ hosts: [HostPhase], now: Date) -> String {
        let ordered = hosts.filter { $0.finished == nil } + hosts.filter { $0.finished != nil }
        let items = ordered.map { phase in
            let seconds = Int((phase.finished ?? now).timeIntervalSince(phase.started).rounded(.down))
            let state = phase.finished == nil ? "" : phase.failed ? " failed" : " done"
            return "\(phase.host): \(phase.activity)\(state) (\(seconds) s)"
        }
        let line = items.joined(separator: " · ")
        let width = max(20, columns() - 1)
        return line.count <= width ? line : String(line.prefix(width - 1)) + "…"
    }

    /// Prints one finished attempt.
    func finished(_ attempt: TestAttempt, willRetry: Bool, snapshot: Snapshot) {
        let failure = attempt.status.isFailure
        state.withLock { state in
            state.snapshot = snapshot
            if live {
                var text = clearLine(&state)
                if failure { text += TextSummary.failureBlock(attempt, willRetry: willRetry).joined(separator: "\n") + "\n" }
                text += statusLine(snapshot)
                state.lineShown = true
                output(2, Array(text.utf8))
            } else {
                var lines = [String(format: "%-7@ %7.2fs  %@  [%@]", attempt.status.rawValue.uppercased() as NSString, attempt.duration,
                                    attempt.name as NSString, attempt.slot.description as NSString)
                    + (attempt.message.map { " \($0)" } ?? "") + (willRetry ? " (will retry)" : "")]
                if failure { lines += TextSummary.failureBlock(attempt, willRetry: willRetry).dropFirst() }
                output(1, Array((lines.joined(separator: "\n") + "\n").utf8))
            }
        }
    }

    /// Prints a message about the run (a lost slot, a retry) without breaking the live line.
    func note(_ message: String) {
        state.withLock { state in
            var text = clearLine(&state) + "automation: \(message)\n"
            if live && !state.hosts.isEmpty {
                text += hostsLine(state.hosts, now: Date())
                state.lineShown = true
            } else if live && state.snapshot.total > 0 {
                text += statusLine(state.snapshot)
                state.lineShown = true
            }
            output(2, Array(text.utf8))
        }
    }

    /// Redraws the live line with fresh numbers (called on a timer).
    func tick(_ snapshot: Snapshot) {
        guard live else { return }
        state.withLock { state in
            state.snapshot = snapshot
            let text = clearLine(&state) + statusLine(snapshot)
            state.lineShown = true
            output(2, Array(text.utf8))
        }
    }

    /// Removes the live line before the summary.
    func end() {
        state.withLock { state in
            let text = clearLine(&state)
            if !text.isEmpty { output(2, Array(text.utf8)) }
        }
    }

    private func clearLine(_ state: inout State) -> String {
        guard live, state.lineShown else { return "" }
        state.lineShown = false
        return "\r\u{1B}[K"
    }

    private func statusLine(_ s: Snapshot) -> String {
        String(format: "[%d/%d] %d failed · %d running · elapsed %@ · ETA %@", s.done, s.total, s.failed, s.running,
               Self.clock(s.elapsed) as NSString, Self.clock(s.eta) as NSString)
    }

    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600 ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%d:%02d", total / 60, total % 60)
    }
}
