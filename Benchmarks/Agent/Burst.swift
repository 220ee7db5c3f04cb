import AgentProtocol
import AutomationKit
import Foundation
import Logging

/// Issue 12: N execs of /bin/true started at once on one session. For each,
/// the time from the burst's start to its reply; a fair agent sends early
/// replies while it is still spawning (p50 well under max), an unfair one
/// sends them all at the end (p50 ≈ max).
func burstLatencies(agent: String, count: Int, logger: Logger) async throws -> [Duration] {
    let client = try await LocalAgent.connect(binary: agent, logger: logger)
    defer { client.close() }
    try await client.ping()
    let start = ContinuousClock.now
    return try await withThrowingTaskGroup(of: Duration.self) { group in
        for _ in 0..<count {
            group.addTask {
                _ = try await client.run(ExecParams(argv: ["/bin/true"]))
                return ContinuousClock.now - start
            }
        }
        var latencies: [Duration] = []
        for try await latency in group { latencies.append(latency) }
        return latencies.sorted()
    }
}

func printBurst(agent: String, count: Int, rounds: Int, logger: Logger) async throws {
    print("agent: \(agent)")
    print("| round | execs | first reply | p50 reply | p90 reply | last reply | p50 / last |")
    print("|---|---|---|---|---|---|---|")
    func ms(_ d: Duration) -> String { String(format: "%.0f ms", Double(d.microseconds) / 1000) }
    for round in 1...rounds {
        let l = try await burstLatencies(agent: agent, count: count, logger: logger)
        let p50 = l[l.count / 2], p90 = l[l.count * 9 / 10], last = l[l.count - 1]
        print("| \(round) | \(count) | \(ms(l[0])) | \(ms(p50)) | \(ms(p90)) | \(ms(last)) | \(String(format: "%.2f", Double(p50.microseconds) / Double(max(1, last.microseconds)))) |")
    }
}
