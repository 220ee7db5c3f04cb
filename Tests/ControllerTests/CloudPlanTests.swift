@testable import AutomationKit
import Foundation
import Scheduling
import Testing

@Suite("run-tests --dry-run with aws:N targets: time and cost")
struct CloudPlanTests {
    static func plan(_ durations: [Double], setup: Double = 10) -> CloudPlan {
        CloudPlan(tests: durations.enumerated().map { Simulator.Test(name: "t\($0.offset)", estimate: $0.element, actual: $0.element) },
                  policy: BatchPolicy(maxTests: 1, minSeconds: 0), batchOverhead: 0, setupSeconds: setup)
    }

    @Test func costIsInstancesTimesPriceTimesBilledTime() throws {
        // 72 one-minute tests on 2 × c5.large (2 vCPUs each): 18 minutes of tests.
        let plan = Self.plan(Array(repeating: 60, count: 72))
        let estimate = plan.estimate(.init(count: 2, instanceType: "c5.large", slotsPerInstance: 2), instances: 2)
        #expect(abs(estimate.makespan - 1080) < 1e-6)
        #expect(abs(estimate.wall - (CloudPlan.bootSeconds + 10 + 1080)) < 1e-6)
        let cost = try #require(estimate.cost)
        #expect(abs(cost - 2 * 0.085 * estimate.wall / 3600) < 1e-9)
    }

    @Test func whenTheLongestTestBoundsTheRunFewerInstancesFinishAsSoonForLess() throws {
        // One 20-minute test dominates: beyond a few slots, more instances only cost more.
        let plan = Self.plan([1200] + Array(repeating: 10, count: 40))
        let fleet = CloudPlan.Fleet(count: 8, instanceType: "c5.xlarge", slotsPerInstance: 4)
        let planned = plan.estimate(fleet, instances: 8)
        let budget = try #require(planned.cost)
        let best = try #require(plan.fastestWithin(fleet, budget: budget, limit: 32))
        #expect(best.instances < 8)
        #expect(best.wall <= planned.wall)
        #expect(try #require(best.cost) < budget)
    }

    @Test func underTheOneMinuteMinimumMoreInstancesCostTheSameAndFinishSooner() throws {
        // 8 tests of 20 s with no boot time to speak of: every count is billed one minute.
        let plan = Self.plan(Array(repeating: 20, count: 8), setup: -CloudPlan.bootSeconds)
        let fleet = CloudPlan.Fleet(count: 1, instanceType: "c5.large", slotsPerInstance: 2)
        let planned = plan.estimate(fleet, instances: 1)
        let budget = try #require(planned.cost) * 4
        let best = try #require(plan.fastestWithin(fleet, budget: budget, limit: 8))
        #expect(best.instances == 4)
        #expect(abs(best.wall - 20) < 1e-6)
    }

    @Test func anUnknownTypeHasNoPriceButStillATime() {
        let text = Self.plan([5, 5]).render([.init(count: 2, instanceType: "z9.mega", slotsPerInstance: 1)], runner: "command", known: 0)
        #expect(text.contains("aws:2:z9.mega: 2 instances × 1 slots = 2 slots"))
        #expect(text.contains("cost: unknown"))
    }

    @Test("the CLI plans aws:N without launching anything: no AWS credentials are needed")
    func dryRunLaunchesNothing() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let home = harness.scratch.appendingPathComponent("home").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let outcome = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "aws:4:c5.9xlarge", "--dry-run"],
                                            env: ["HOME": home, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "",
                                                  "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let tests = try RunTestsHarness.sampleTests().count
        #expect(outcome.stdout.contains("plan: \(tests) tests, runner command"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("aws:4:c5.9xlarge: 4 instances × 36 slots = 144 slots"))
        #expect(outcome.stdout.contains("cost: $"))
        #expect(outcome.stdout.contains("from launch to teardown"))
    }
}
