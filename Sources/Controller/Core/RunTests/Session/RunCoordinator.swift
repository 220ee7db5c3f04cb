import Foundation
import Scheduling

/// Owns the run's one queue: slot workers ask it for batches and hand it
/// results the moment they arrive; it keeps every attempt, appends each to
/// the JSON-lines log and drives the progress display.
actor RunCoordinator {
    private var queue: TestQueue
    private var attempts: [TestAttempt] = []
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private let progress: ProgressPrinter
    private let events: FileHandle?
    private let started = ContinuousClock.now
    private var running = 0
    private var stopReason: String?
    /// Targets whose slots were lost (not after a stop), with the first reason.
    private var lostTargets: [(target: String, reason: String)] = []
    private var quarantineNotes: [String] = []

    init(queue: TestQueue, progress: ProgressPrinter, events: FileHandle?) {
        self.queue = queue
        self.progress = progress
        self.events = events
    }

    private var elapsed: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The next batch for `slot`, waiting while only retries meant for other slots are left; nil when done.
    func next(for slot: SlotID) async -> Batch? {
        while true {
            switch queue.next(for: slot, now: elapsed) {
            case .run(let batch):
                running += 1
                return batch
            case .done:
                wakeAll()
                return nil
            case .wait:
                await withCheckedContinuation { waiters.append($0) }
            }
        }
    }

    /// Records one streamed result from `slot`.
    func record(_ marker: ResultMarker, slot: SlotID) {
        guard let entry = queue.batch(on: slot)?.entries.first(where: { $0.name == marker.test }) else {
            progress.note("\(slot) reported a result for \(marker.test), which it was not running; ignored")
            return
        }
        let now = Date()
        let end = marker.end.map { Date(timeIntervalSince1970: $0) } ?? now
        let start = marker.start.map { Date(timeIntervalSince1970: $0) } ?? end.addingTimeInterval(-marker.duration)
        var attempt = TestAttempt(name: marker.test, attempt: entry.attempt, status: marker.status, slot: slot, start: start, end: end,
                                  message: marker.message, detail: marker.detail, reported: now)
        if let stopReason, attempt.status.isFailure {
            // Cancelled by the stop: it did not get to finish.
            attempt.status = .notRun
            attempt.message = "cancelled (\(stopReason))"
            attempt.infrastructure = true
        }
        let result = queue.record(attempt)
        keep(attempt, willRetry: result == .willRetry)
        for quarantine in queue.takeQuarantines() { self.quarantine(quarantine.slot, quarantine.undone) }
        wakeAll()
    }

    private func quarantine(_ slot: SlotID, _ undone: [SlotHealth.FastFailure]) {
        let note = "slot \(slot) (\(slot.target)): \(undone.count) tests in a row failed far faster than they usually take "
            + "(last: \(attempts.last { $0.slot == slot }?.message ?? "no message")); they run again on other slots"
        quarantineNotes.append(note)
        progress.note("quarantined " + note)
        for failure in undone {
            if let index = attempts.lastIndex(where: { $0.slot == slot && $0.name == failure.name && $0.attempt == failure.attempt }) {
                attempts[index].infrastructure = true
                attempts[index].message = "slot quarantined: " + (attempts[index].message ?? "")
            }
        }
    }

    /// Stops scheduling: queued tests become "not run"; running ones finish or are cancelled by the caller.
    func stop(reason: String) {
        guard stopReason == nil else { return }
        stopReason = reason
        for outcome in queue.stop(reason: reason) { if let last = outcome.last { keep(last, willRetry: false) } }
        wakeAll()
    }

    /// The first setup error of the run (a test command that cannot start), with its target.
    private(set) var setupError: String?

    /// `slot` could not start the test command: the run stops at once, its unfinished
    /// and queued tests become "not run" (no durations are recorded for them).
    func setupFailed(on slot: SlotID, target: String, _ error: SetupError) {
        if setupError == nil {
            setupError = "\(target): \(error)"
            progress.note("setup error on \(target): \(error); stopping the run")
        }
        stop(reason: "\(error.flag) cannot start")
        finishBatch(on: slot)
    }

    /// Ends the slot's batch; unreported tests come back once.
    func finishBatch(on slot: SlotID) {
        running -= 1
        let decided = stopReason.map { queue.finishBatch(on: slot, reason: "cancelled (\($0))") } ?? queue.finishBatch(on: slot)
        for outcome in decided { if let last = outcome.last { keep(last, willRetry: false) } }
        wakeAll()
    }

    /// The slot (or its host) is gone: its tests come back once.
    func slotLost(_ slot: SlotID, reason: String, hadBatch: Bool) {
        if hadBatch { running -= 1 }
        if stopReason == nil {
            progress.note("lost slot \(slot): \(reason); its unfinished tests go back in the queue")
            if !lostTargets.contains(where: { $0.target == slot.target }) { lostTargets.append((slot.target, reason)) }
        }
        let decided = queue.slotLost(slot, reason: stopReason.map { "cancelled (\($0))" } ?? "slot \(slot) lost: \(reason)")
        for outcome in decided { if let last = outcome.last { keep(last, willRetry: false) } }
        wakeAll()
    }

    /// Redraws the live line.
    func tick() {
        progress.tick(snapshot())
    }

    /// Everything recorded, once the queue is finished; tests still without an
    /// outcome (workers abandoned after a second Ctrl-C) are added as not run.
    func results() -> (attempts: [TestAttempt], outcomes: [TestOutcome], lost: [String], quarantined: [String]) {
        var outcomes = queue.outcomes
        let decided = Set(outcomes.map(\.name))
        for name in queue.allTests where !decided.contains(name) {
            let never = TestAttempt(name: name, attempt: 1, status: .notRun, slot: SlotID(target: "", host: "", index: -1),
                                    start: Date(), end: Date(), message: "cancelled (\(stopReason ?? "run ended"))", infrastructure: true)
            attempts.append(never)
            outcomes.append(TestOutcome(name: name, verdict: .notRun, attempts: [never]))
        }
        return (attempts, outcomes, lostTargets.map { "\($0.target): \($0.reason)" }, quarantineNotes)
    }

    private func keep(_ attempt: TestAttempt, willRetry: Bool) {
        attempts.append(attempt)
        if let events { events.write(Data((JSONLinesWriter.line(for: attempt) + "\n").utf8)) }
        progress.finished(attempt, willRetry: willRetry, snapshot: snapshot())
    }

    private func snapshot() -> ProgressPrinter.Snapshot {
        ProgressPrinter.Snapshot(
            done: queue.outcomes.count, total: queue.testCount,
            failed: queue.outcomes.filter { $0.verdict.isFailure }.count,
            elapsed: elapsed, eta: queue.estimatedRemaining(now: elapsed), running: running)
    }

    private func wakeAll() {
        let woken = waiters
        waiters.removeAll()
        for waiter in woken { waiter.resume() }
    }
}
