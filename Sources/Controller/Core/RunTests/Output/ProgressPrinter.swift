import Foundation
import Glibc
import Scheduling
import Synchronization

/// What the user sees while tests run. On a terminal: one live line on
/// stderr (done/total, failures, elapsed, ETA) with each failure printed
/// above it as it happens. Otherwise: one plain line per test on stdout.
final class ProgressPrinter: Sendable {
    struct Snapshot: Sendable {
        var done = 0
        var total = 0
        var failed = 0
        var elapsed = 0.0
        var eta = 0.0
        var running = 0
    }

    let live: Bool
    private let state = Mutex<(snapshot: Snapshot, lineShown: Bool)>((Snapshot(), false))

    init(live: Bool = isatty(2) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb") {
        self.live = live
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
                writeAll(2, Array(text.utf8))
            } else {
                var lines = [String(format: "%-7@ %7.2fs  %@  [%@]", attempt.status.rawValue.uppercased() as NSString, attempt.duration,
                                    attempt.name as NSString, attempt.slot.description as NSString)
                    + (attempt.message.map { " \($0)" } ?? "") + (willRetry ? " (will retry)" : "")]
                if failure { lines += TextSummary.failureBlock(attempt, willRetry: willRetry).dropFirst() }
                writeAll(1, Array((lines.joined(separator: "\n") + "\n").utf8))
            }
        }
    }

    /// Prints a message about the run (a lost slot, a retry) without breaking the live line.
    func note(_ message: String) {
        state.withLock { state in
            var text = clearLine(&state) + "automation: \(message)\n"
            if live && state.snapshot.total > 0 {
                text += statusLine(state.snapshot)
                state.lineShown = true
            }
            writeAll(2, Array(text.utf8))
        }
    }

    /// Redraws the live line with fresh numbers (called on a timer).
    func tick(_ snapshot: Snapshot) {
        guard live else { return }
        state.withLock { state in
            state.snapshot = snapshot
            let text = clearLine(&state) + statusLine(snapshot)
            state.lineShown = true
            writeAll(2, Array(text.utf8))
        }
    }

    /// Removes the live line before the summary.
    func end() {
        state.withLock { state in
            let text = clearLine(&state)
            if !text.isEmpty { writeAll(2, Array(text.utf8)) }
        }
    }

    private func clearLine(_ state: inout (snapshot: Snapshot, lineShown: Bool)) -> String {
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
