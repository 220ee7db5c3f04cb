import Foundation
import Testing
import TestSupport

/// `phases.json` in the run directory: which phases a run went through, in order, and
/// the AWS calls it made. What the numbers are is docs/benchmarks.md's business; these
/// tests check that they are there and add up, never how long anything took.
@Suite("run-tests phases.json", .serialized, .timeLimit(.minutes(15)))
struct CloudRunPhasesTests {
    /// The phases every aws:N run goes through, in run order (prepare joins when run-tests prepares /hgwork).
    static let cloudPhases = ["launch", "connect", "deploy", "sync", "build", "list", "run", "collect", "teardown"]

    struct Phases {
        let names: [String]
        let spans: [String: (start: Double, end: Double)]
        let awsCalls: [String: Int]
        let awsCallsTotal: Int
        let hostsDone: [String: [String: Double]]
    }

    /// The run directory the run printed, and its phases.json.
    static func phases(_ outcome: RunTestsHarness.Outcome) throws -> Phases {
        let line = try #require(outcome.stdout.split(separator: "\n").first { $0.hasPrefix("reports: ") }, "\(outcome.stdout)")
        let directory = String(line.dropFirst("reports: ".count).split(separator: " (").first ?? "")
        let data = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("phases.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try #require(object["phases"] as? [[String: Any]])
        var spans: [String: (start: Double, end: Double)] = [:]
        var hosts: [String: [String: Double]] = [:]
        for phase in list {
            let name = try #require(phase["name"] as? String)
            spans[name] = (try #require(phase["start"] as? Double), try #require(phase["end"] as? Double))
            hosts[name] = phase["hostsDone"] as? [String: Double]
        }
        return Phases(names: list.compactMap { $0["name"] as? String }, spans: spans,
                      awsCalls: try #require(object["awsCalls"] as? [String: Int]),
                      awsCallsTotal: try #require(object["awsCallsTotal"] as? Int), hostsDone: hosts)
    }

    /// Each phase ends after it starts, and sequential phases start in run order.
    static func expectOrdered(_ phases: Phases, _ expected: [String], _ context: String) {
        #expect(Set(expected).isSubset(of: Set(phases.names)), "\(context): \(phases.names)")
        for (name, span) in phases.spans { #expect(span.start <= span.end, "\(context): \(name) \(span)") }
        let starts = expected.compactMap { phases.spans[$0]?.start }
        #expect(starts == starts.sorted(), "\(context): phases out of order: \(phases.spans)")
    }

    @Test("a local run writes phases.json without AWS calls, and prints the summary only with --timings")
    func localRun() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let quiet = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "local:4"])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("phases:"), "\(quiet.stderr)")
        let phases = try Self.phases(quiet)
        Self.expectOrdered(phases, ["build", "list", "run", "collect"], "local")
        #expect(!phases.names.contains("launch") && !phases.names.contains("teardown"), "\(phases.names)")
        #expect(phases.awsCalls.isEmpty && phases.awsCallsTotal == 0)

        let loud = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "local:4", "--timings"])
        let summary = try #require(loud.stderr.split(separator: "\n").first { $0.hasPrefix("automation: phases: ") }, "\(loud.stderr)")
        #expect(summary.contains("run ") && !summary.contains("AWS calls"), "\(summary)")
    }

    @Test("aws:2 twice: every phase in order, per-host connect and deploy, and at most 8 AWS calls once the account state exists",
          .requires(TestCloudFixture.requirement))
    func cloudRuns() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        try await TestCloudFixture.with { cloud in
            var totals: [Int] = []
            var secondCalls: [String: Int] = [:]
            for round in ["empty account", "account state recorded"] {
                let outcome = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "aws:2:t3.micro"], env: cloud.environment)
                #expect(outcome.status == 0, "\(round): \(outcome.stderr)\n\(cloud.log)")
                #expect(outcome.stderr.contains("automation: phases: launch "), "\(round): \(outcome.stderr)")
                let phases = try Self.phases(outcome)
                Self.expectOrdered(phases, Self.cloudPhases, round)
                #expect(phases.hostsDone["connect"]?.count == 2 && phases.hostsDone["deploy"]?.count == 2, "\(round): \(phases.hostsDone)")
                // Teardown comes after the reports: phases.json is written after it, not before.
                #expect((phases.spans["teardown"]?.start ?? 0) >= (phases.spans["collect"]?.end ?? .infinity), "\(round): \(phases.spans)")
                #expect(phases.awsCalls["RunInstances"] == 1 && phases.awsCalls["TerminateInstances"] == 1, "\(round): \(phases.awsCalls)")
                #expect(phases.awsCallsTotal == phases.awsCalls.values.reduce(0, +))
                totals.append(phases.awsCallsTotal)
                secondCalls = phases.awsCalls
            }
            // The first run creates the key pair, group, role and profile; the second only launches and terminates.
            #expect(totals[0] > totals[1], "\(totals)")
            #expect(totals[1] <= 8, "AWS calls with the account state recorded: \(totals[1])")
            #expect(secondCalls["GetCallerIdentity"] == nil, "the namespace is remembered for these credentials: \(secondCalls)")
            #expect(try await cloud.waitUntilNoMachines(), "machines left: \(cloud.machines)")
        }
    }
}
