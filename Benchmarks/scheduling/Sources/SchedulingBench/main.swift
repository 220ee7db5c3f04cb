import Foundation
import Scheduling

// Makespan of the dynamic queue against its lower bound and against
// run-tests.py's static split (sorted names dealt round-robin), on
// simulated suites. Durations either known exactly or with estimation
// noise. Optional argument: a durations JSON file written by run-tests
// (<state>/durations/<project>/<runner>.json) to replay a real suite.

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func skewed(_ count: Int, seed: UInt64) -> [String: Double] {
    var rng = SplitMix64(state: seed)
    var tests: [String: Double] = [:]
    for i in 0..<count {
        // Mercurial-like: most tests take a few seconds, a few take minutes.
        let u = Double.random(in: 0..<1, using: &rng)
        let d = u < 0.03 ? Double.random(in: 60...240, using: &rng) : u < 0.25 ? Double.random(in: 8...40, using: &rng) : Double.random(in: 0.3...6, using: &rng)
        tests[String(format: "test-%04d.t", i)] = d
    }
    return tests
}

func uniform(_ count: Int, seed: UInt64) -> [String: Double] {
    var rng = SplitMix64(state: seed)
    var tests: [String: Double] = [:]
    for i in 0..<count { tests[String(format: "test-%04d.t", i)] = Double.random(in: 1...3, using: &rng) }
    return tests
}

func noisy(_ tests: [String: Double], noise: Double, seed: UInt64) -> [String: Double] {
    var rng = SplitMix64(state: seed)
    return tests.mapValues { $0 * Double.random(in: (1 - noise)...(1 + noise), using: &rng) }
}

var suites: [(String, [String: Double])] = [
    ("skewed-1000", skewed(1000, seed: 1)),
    ("skewed-300", skewed(300, seed: 2)),
    ("uniform-500", uniform(500, seed: 3)),
]
for path in CommandLine.arguments.dropFirst() {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    struct File: Decodable { var tests: DurationHistory }
    let history = try JSONDecoder().decode(File.self, from: data).tests
    let known = history.tests.keys.reduce(into: [String: Double]()) { $0[$1] = history.known($1) }
    suites.append((URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + "(\(known.count))", known))
}

let env = ProcessInfo.processInfo.environment
let policy = BatchPolicy(maxTests: 200, minSeconds: Double(env["BENCH_MIN"] ?? "") ?? 10, factor: Double(env["BENCH_FACTOR"] ?? "") ?? 2, hardFloorSeconds: 4.5)
let overhead = 1.0
print("| suite | slots | lower bound s | dynamic s | dynamic / LB | static split s | dynamic / static | batches | dynamic / LB, ±30% estimates |")
print("|---|---|---|---|---|---|---|---|---|")
for (name, tests) in suites {
    for slots in [2, 4, 8, 16, 36] where tests.count >= slots * 4 {
        let known = tests.map { Simulator.Test(name: $0.key, estimate: $0.value, actual: $0.value) }
        let result = Simulator.run(tests: known, slots: slots, policy: policy, batchOverhead: overhead)
        let estimates = noisy(tests, noise: 0.3, seed: 9)
        let fuzzy = Simulator.run(tests: tests.map { Simulator.Test(name: $0.key, estimate: estimates[$0.key]!, actual: $0.value) },
                                  slots: slots, policy: policy, batchOverhead: overhead)
        let staticSplit = Makespan.staticSplit(durations: tests, shards: slots, overhead: overhead)
        print(String(format: "| %@ | %d | %.1f | %.1f | %.3f | %.1f | %.3f | %d | %.3f |", name as NSString, slots, result.lowerBound,
                     result.makespan, result.makespan / result.lowerBound, staticSplit, result.makespan / staticSplit,
                     result.batches, fuzzy.makespan / fuzzy.lowerBound))
    }
}
print("\nbatch overhead \(overhead) s per batch (run-tests.py start); static split pays it once per shard.")
