import ArgumentParser
import Foundation
import Logging

/// `automation ping`: round-trip latency through the agent.
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Measure round trips to the agent on each target."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Option(help: "Round trips per target.")
    var count = 100

    @Flag(help: "Print one JSON object per target.")
    var json = false

    mutating func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count takes 1 to 1000000, got \(count)") }
    }

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            for spec in try targets.specs() {
                let connectStart = ContinuousClock.now
                let client = try await Targets.connect(spec, options: targets, state: global.state, logger: logger)
                defer { client.close() }
                let connectTime = ContinuousClock.now - connectStart
                var samples: [Duration] = []
                samples.reserveCapacity(count)
                for _ in 0..<count {
                    let start = ContinuousClock.now
                    try await client.ping()
                    samples.append(ContinuousClock.now - start)
                }
                let stats = LatencyStats(samples)
                if json {
                    print(#"{"target":"\#(spec)","count":\#(count),"connectUs":\#(connectTime.microseconds),"p50Us":\#(stats.p50.microseconds),"p99Us":\#(stats.p99.microseconds),"minUs":\#(stats.min.microseconds),"maxUs":\#(stats.max.microseconds)}"#)
                } else {
                    print("\(spec): \(count) pings, p50 \(stats.p50.formattedMicros), p99 \(stats.p99.formattedMicros), min \(stats.min.formattedMicros), max \(stats.max.formattedMicros) (connect \(connectTime.formattedMicros))")
                }
            }
            return 0
        }
    }
}

/// Percentiles of a set of durations.
public struct LatencyStats: Sendable {
    public var p50: Duration
    public var p99: Duration
    public var min: Duration
    public var max: Duration

    public init(_ samples: [Duration]) {
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Duration {
            sorted[Swift.min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
        }
        p50 = percentile(0.50)
        p99 = percentile(0.99)
        min = sorted.first ?? .zero
        max = sorted.last ?? .zero
    }
}

extension Duration {
    public var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }

    var formattedMicros: String {
        let us = microseconds
        return us >= 10_000 ? String(format: "%.1f ms", Double(us) / 1000) : "\(us) µs"
    }
}
