import Foundation
import Synchronization

/// Pings one target's agent session on a schedule with a deadline: a
/// stopped agent or sshd, a half-open connection or a partition never
/// answers, and after `lostAfter` seconds the session is abandoned, which
/// fails its calls so the slots see their host lost. Late answers mark
/// stalls, so durations measured across one are not recorded.
final class TargetHeartbeat: Sendable {
    /// A span of wall time during which the target did not answer promptly.
    struct Stall: Sendable, Equatable {
        var start: Date
        var end: Date
    }

    /// Seconds without an answer after which a target is lost (`--lost-after`'s default).
    static let defaultLostAfter = 30.0

    let client: AgentClient
    let label: String
    let lostAfter: Double
    /// A round trip longer than this is a stall.
    let stallAfter: Double
    private let state = Mutex<(stalls: [Stall], lost: String?)>(([], nil))
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(client: AgentClient, label: String, lostAfter: Double) {
        self.client = client
        self.label = label
        self.lostAfter = lostAfter
        stallAfter = min(lostAfter / 2, max(2, lostAfter / 10))
    }

    /// Seconds between pings: several chances inside `lostAfter`.
    var interval: Double { max(0.5, min(5, lostAfter / 4)) }

    /// Why the target was declared lost, if it was.
    var lostReason: String? { state.withLock { $0.lost } }

    /// Stalls seen so far (pings answered late, and the unanswered one that lost the target).
    var stalls: [Stall] { state.withLock { $0.stalls } }

    /// Starts pinging; `onLost` runs once if the target stops answering.
    func start(onLost: @escaping @Sendable (String) -> Void) {
        let work = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                if Task.isCancelled { return }
                let sent = Date()
                let roundTrip: Double?
                do {
                    roundTrip = try await client.ping(within: lostAfter)
                } catch {
                    return  // the session is gone already; the slots report why
                }
                guard let roundTrip else {
                    let reason = String(format: "no answer to a ping for %.0f s (host, agent or network stopped)", lostAfter)
                    state.withLock {
                        $0.stalls.append(Stall(start: sent, end: .distantFuture))
                        $0.lost = reason
                    }
                    onLost(reason)
                    client.abandon("\(label): \(reason)")
                    return
                }
                if roundTrip > stallAfter {
                    state.withLock { $0.stalls.append(Stall(start: sent.addingTimeInterval(-interval), end: Date())) }
                }
            }
        }
        task.withLock { $0 = work }
    }

    /// Stops pinging.
    func stop() {
        task.withLock { $0?.cancel() }
    }

    /// True when the span `start...end` overlaps a stall: its duration is not the test's own.
    func overlapsStall(start: Date, end: Date) -> Bool {
        stalls.contains { $0.start <= end && start <= $0.end }
    }
}
