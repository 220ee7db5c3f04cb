import Foundation

/// The one queue that feeds every slot of a run: an I/O-free state machine.
///
/// Tests are kept longest-first by estimated duration (ties by name, so two
/// runs over the same inputs hand out the same batches). The controller asks
/// for a batch whenever a slot is free, reports each result the moment it
/// arrives, and tells the queue when a batch ends or a slot dies. Tests lost
/// with a slot (or left without a result when a batch ends) go back in the
/// queue once; a second loss makes them infrastructure errors. Failures are
/// re-queued up to `retryFailed` times, preferring a slot they have not
/// failed on. A slot whose tests fail far faster than usual several times in
/// a row is quarantined (`SlotHealth`) and those tests run again elsewhere.
/// Tests that never get to run (the run was stopped, or no slot is left) end
/// as `notRun`, which is not a failure.
public struct TestQueue: Sendable {
    struct Pending: Sendable {
        var name: String
        var estimate: Double
        var attempt: Int
        var avoid: Set<SlotID>
    }

    struct InFlight: Sendable {
        var batch: Batch
        var unreported: [String: Int]  // name -> attempt
    }

    /// What recording a result did.
    public enum RecordResult: Sendable, Equatable {
        /// The test is finished; here is its outcome.
        case final(TestOutcome)
        /// The failure will be retried (on another slot when there is one).
        case willRetry
        /// The result did not match any test in flight on that slot (ignored).
        case unexpected
    }

    /// A slot taken out of the run, with the fast failures that were undone
    /// (their tests are back in the queue for other slots).
    public struct Quarantine: Sendable, Equatable {
        public var slot: SlotID
        public var undone: [SlotHealth.FastFailure]
    }

    public let policy: BatchPolicy
    public let retryFailed: Int
    private(set) var pending: [Pending]
    private var inFlight: [SlotID: InFlight] = [:]
    private(set) public var liveSlots: [SlotID]
    private var history: [String: [TestAttempt]] = [:]
    private var lostCount: [String: Int] = [:]
    private var nextBatchID = 1
    private var health: SlotHealth
    /// Slots taken out of the run by `SlotHealth`, in order.
    private(set) public var quarantined: [SlotID] = []
    private var unseenQuarantines: [Quarantine] = []
    /// True once `stop` was called: nothing more is handed out.
    private(set) public var stopped = false
    /// Final outcomes in the order tests finished.
    private(set) public var outcomes: [TestOutcome] = []
    /// Total number of distinct tests in the run.
    public let testCount: Int
    /// Every test's name, as given.
    public let allTests: [String]

    /// Creates a queue over `tests` (name → estimated seconds) for `slots`.
    public init(tests: [String: Double], slots: [SlotID], policy: BatchPolicy, retryFailed: Int = 0,
                health: SlotHealth.Policy = .standard) {
        self.policy = policy
        self.health = SlotHealth(policy: health)
        self.retryFailed = max(0, retryFailed)
        self.liveSlots = slots
        self.testCount = tests.count
        self.allTests = tests.keys.sorted()
        self.pending = tests.map { Pending(name: $0.key, estimate: max(0, $0.value), attempt: 1, avoid: []) }
        self.pending.sort(by: Self.order)
    }

    static func order(_ a: Pending, _ b: Pending) -> Bool {
        if a.estimate != b.estimate { return a.estimate > b.estimate }
        if a.name != b.name { return a.name < b.name }
        return a.attempt < b.attempt
    }

    /// True once every test has an outcome.
    public var isFinished: Bool { pending.isEmpty && inFlight.isEmpty }
    /// Number of tests waiting to be handed out.
    public var queuedCount: Int { pending.count }
    /// Sum of the estimates of the tests waiting to be handed out.
    public var queuedSeconds: Double { pending.reduce(0) { $0 + $1.estimate } }
    /// The batch a slot is running, if any.
    public func batch(on slot: SlotID) -> Batch? { inFlight[slot]?.batch }

    private func eligible(_ test: Pending, for slot: SlotID) -> Bool {
        if !test.avoid.contains(slot) { return true }
        // Only run a retry on a slot it failed on when no other live slot is left for it.
        return liveSlots.allSatisfy { test.avoid.contains($0) }
    }

    /// Hands the next batch to `slot`, which must be free; `now` is the caller's clock in seconds.
    public mutating func next(for slot: SlotID, now: Double = 0) -> Assignment {
        guard liveSlots.contains(slot), !stopped else { return .done }
        precondition(inFlight[slot] == nil, "slot \(slot) asked for a batch while running one")
        guard !pending.isEmpty else { return inFlight.isEmpty ? .done : .wait }
        let target = policy.targetSeconds(remaining: queuedSeconds, liveSlots: liveSlots.count)
        var picked: [Int] = []
        var sum = 0.0
        for (index, test) in pending.enumerated() where eligible(test, for: slot) {
            if picked.isEmpty {
                picked.append(index)
                sum = test.estimate
            } else if picked.count < policy.maxTests && sum + test.estimate <= target {
                picked.append(index)
                sum += test.estimate
            } else {
                break
            }
            if picked.count >= policy.maxTests { break }
        }
        guard !picked.isEmpty else { return .wait }
        let entries = picked.map { Batch.Entry(name: pending[$0].name, attempt: pending[$0].attempt, estimate: pending[$0].estimate) }
        for index in picked.reversed() { pending.remove(at: index) }
        let batch = Batch(id: nextBatchID, slot: slot, entries: entries, startedAt: now)
        nextBatchID += 1
        inFlight[slot] = InFlight(batch: batch, unreported: Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.attempt) }))
        return .run(batch)
    }

    /// Records one streamed result. The attempt's `slot` must be the slot running it.
    public mutating func record(_ result: TestAttempt) -> RecordResult {
        guard var flight = inFlight[result.slot], let attempt = flight.unreported.removeValue(forKey: result.name) else {
            return .unexpected
        }
        inFlight[result.slot] = flight
        var result = result
        result.attempt = attempt
        history[result.name, default: []].append(result)
        let estimate = flight.batch.entries.first { $0.name == result.name }?.estimate ?? result.duration
        let failures = history[result.name]!.filter { $0.status.isFailure && !$0.infrastructure }.count
        let decision: RecordResult
        if result.status.isFailure && !result.infrastructure && failures <= retryFailed && !stopped {
            var avoid = Set(history[result.name]!.filter { $0.status.isFailure }.map(\.slot))
            avoid.insert(result.slot)
            enqueue(Pending(name: result.name, estimate: estimate, attempt: attempt + 1, avoid: avoid))
            decision = .willRetry
        } else {
            decision = .final(finish(result.name))
        }
        if !stopped {
            for (slot, streak) in health.observe(result, estimate: estimate, live: liveSlots) {
                quarantine(slot, undoing: streak)
                unseenQuarantines.append(Quarantine(slot: slot, undone: streak))
            }
        }
        return decision
    }

    /// Quarantines decided since the last call (a result can quarantine its own slot or, being healthy, another).
    public mutating func takeQuarantines() -> [Quarantine] {
        defer { unseenQuarantines.removeAll() }
        return unseenQuarantines
    }

    /// Takes `slot` out of the run and puts the tests of its fast-failure
    /// streak back in the queue as if those attempts had not happened.
    private mutating func quarantine(_ slot: SlotID, undoing streak: [SlotHealth.FastFailure]) {
        liveSlots.removeAll { $0 == slot }
        quarantined.append(slot)
        health.forget(slot)
        for failure in streak {
            if let index = history[failure.name]?.lastIndex(where: { $0.slot == slot && $0.attempt == failure.attempt }) {
                history[failure.name]!.remove(at: index)
            }
            // Its retry already running elsewhere stands for it.
            if inFlight.values.contains(where: { $0.unreported[failure.name] != nil }) { continue }
            outcomes.removeAll { $0.name == failure.name }
            pending.removeAll { $0.name == failure.name }
            enqueue(Pending(name: failure.name, estimate: failure.estimate, attempt: failure.attempt + 1, avoid: [slot]))
        }
    }

    /// Stops the run: nothing more is handed out, everything still queued
    /// becomes `notRun`, and tests in flight that end without a result too.
    /// Returns the outcomes this decided.
    public mutating func stop(now: Date = Date(), reason: String) -> [TestOutcome] {
        stopped = true
        return strand(now: now, reason: reason, slot: nil)
    }

    private mutating func strand(now: Date, reason: String, slot: SlotID?) -> [TestOutcome] {
        let stranded = pending
        pending.removeAll()
        return stranded.map { test in
            history[test.name, default: []].append(TestAttempt(
                name: test.name, attempt: test.attempt, status: .notRun, slot: slot ?? test.avoid.first ?? liveSlots.first ?? Self.nowhere,
                start: now, end: now, message: reason, infrastructure: true))
            return finish(test.name)
        }
    }

    /// The slot recorded for a test that never got one.
    static let nowhere = SlotID(target: "", host: "", index: -1)

    /// Ends the slot's batch; tests it did not report come back once, then
    /// become errors. Returns the outcomes this decided.
    public mutating func finishBatch(on slot: SlotID, now: Date = Date(), reason: String = "runner reported no result") -> [TestOutcome] {
        guard let flight = inFlight.removeValue(forKey: slot) else { return [] }
        return lose(flight, now: now, reason: reason)
    }

    /// Marks a slot dead: its in-flight tests come back once, then become
    /// errors; when no slot is left, everything still queued becomes an error.
    public mutating func slotLost(_ slot: SlotID, now: Date = Date(), reason: String) -> [TestOutcome] {
        liveSlots.removeAll { $0 == slot }
        var decided: [TestOutcome] = []
        if let flight = inFlight.removeValue(forKey: slot) {
            decided += lose(flight, now: now, reason: reason)
        }
        health.forget(slot)
        if liveSlots.isEmpty {
            decided += strand(now: now, reason: "no slot left to run it (\(reason))", slot: slot)
        }
        return decided
    }

    private mutating func lose(_ flight: InFlight, now: Date, reason: String) -> [TestOutcome] {
        var decided: [TestOutcome] = []
        for entry in flight.batch.entries where flight.unreported[entry.name] != nil {
            let lost = lostCount[entry.name, default: 0]
            lostCount[entry.name] = lost + 1
            if lost == 0 && !liveSlots.isEmpty && !stopped {
                let avoid: Set<SlotID> = [flight.batch.slot]
                enqueue(Pending(name: entry.name, estimate: entry.estimate, attempt: entry.attempt + 1, avoid: avoid))
            } else if lost == 0 {
                // Stopped, or nowhere left to run it: it never finished, which is not the test's fault.
                let why = stopped ? reason : "no slot left to run it again (\(reason))"
                history[entry.name, default: []].append(TestAttempt(
                    name: entry.name, attempt: entry.attempt, status: .notRun, slot: flight.batch.slot,
                    start: now, end: now, message: why, infrastructure: true))
                decided.append(finish(entry.name))
            } else {
                history[entry.name, default: []].append(TestAttempt(
                    name: entry.name, attempt: entry.attempt, status: .error, slot: flight.batch.slot,
                    start: now, end: now, message: reason, infrastructure: true))
                decided.append(finish(entry.name))
            }
        }
        return decided
    }

    private mutating func enqueue(_ test: Pending) {
        let index = pending.firstIndex { Self.order(test, $0) } ?? pending.endIndex
        pending.insert(test, at: index)
    }

    private mutating func finish(_ name: String) -> TestOutcome {
        let attempts = history[name] ?? []
        let outcome = TestOutcome(name: name, verdict: TestOutcome.verdict(of: attempts.map(\.status)), attempts: attempts)
        outcomes.append(outcome)
        return outcome
    }

    /// Estimated seconds until the run ends, from `now` (the clock used for
    /// `next(for:now:)`): in-flight work finishes, then the queue is spread
    /// longest-first over the live slots.
    public func estimatedRemaining(now: Double) -> Double {
        guard !liveSlots.isEmpty else { return 0 }
        var free = liveSlots.map { slot -> Double in
            guard let flight = inFlight[slot] else { return now }
            let left = flight.batch.entries.filter { flight.unreported[$0.name] != nil }.reduce(0) { $0 + $1.estimate }
            return max(now, min(flight.batch.startedAt + flight.batch.estimate, now + left))
        }
        for test in pending {
            let index = free.indices.min { free[$0] < free[$1] }!
            free[index] += test.estimate
        }
        return max(0, (free.max() ?? now) - now)
    }
}
