@testable import AutomationKit
import AWS
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

    @Test("with --spot the plan adds the cost at the cheapest spot price next to the on-demand cost, or says why it cannot")
    func spotLine() throws {
        let price = SpotPrice(instanceType: "c5d.9xlarge", availabilityZone: "us-east-1b", price: 0.5, timestamp: "2026-01-01T00:00:00Z")
        var fleet = CloudPlan.Fleet(count: 4, instanceType: "c5.9xlarge", slotsPerInstance: 36)
        fleet.spot = .price(price, types: ["c5.9xlarge", "c5d.9xlarge"])
        let plan = Self.plan(Array(repeating: 60, count: 36))
        let wall = plan.estimate(fleet, instances: 4).wall
        let text = plan.render([fleet], runner: "command", known: 0)
        #expect(text.contains("on demand (4 × $1.5300/h"), "\(text)")
        #expect(text.contains(String(format: "spot: $%.2f at today's spot price (4 × $0.5000/h, c5d.9xlarge in us-east-1b, the cheapest of c5.9xlarge, c5d.9xlarge)",
                                     4 * 0.5 * wall / 3600)), "\(text)")
        fleet.spot = .unavailable("could not connect")
        let fallback = plan.render([fleet], runner: "command", known: 0)
        #expect(fallback.contains("cost: $"), "the on-demand table stays")
        #expect(fallback.contains("spot: no spot price (could not connect); showing the on-demand cost only"), "\(fallback)")
        // An unknown type still gets its spot line.
        let unknown = CloudPlan.Fleet(count: 1, instanceType: "z9.mega", slotsPerInstance: 1, spot: .price(price, types: ["z9.mega", "c5d.9xlarge"]))
        #expect(plan.render([unknown], runner: "command", known: 0).contains("spot: $"))
    }

    @Test("default spot alternatives: same vCPUs, burstable only for burstable, at most half as dear again, cheapest first")
    func spotAlternatives() {
        #expect(InstanceTypes.spotAlternatives(to: "c5.9xlarge") == ["c5d.9xlarge", "c5n.9xlarge"])
        #expect(InstanceTypes.spotAlternatives(to: "t3.micro") == ["t3a.micro"])
        let large = InstanceTypes.spotAlternatives(to: "c5.large")
        #expect(large == ["c6i.large", "c7i.large", "m5.large"], "\(large)")
        #expect(InstanceTypes.spotAlternatives(to: "z9.mega").isEmpty)
        for type in InstanceTypes.table.keys {
            let alternatives = InstanceTypes.spotAlternatives(to: type)
            #expect(alternatives.count <= 3 && !alternatives.contains(type))
            #expect(alternatives.allSatisfy { InstanceTypes.vcpus($0) == InstanceTypes.vcpus(type) })
        }
    }

    @Test("--spot-types: the target's type first, then the list; bad lists are usage errors (exit 64)")
    func spotTypesFlag() async throws {
        var options = try SpotOptions.parse(["--spot", "--spot-types", "c5d.9xlarge, c5.9xlarge,m5.8xlarge"])
        #expect(options.launch(for: "c5.9xlarge")?.instanceTypes == ["c5.9xlarge", "c5d.9xlarge", "m5.8xlarge"])
        options = try SpotOptions.parse(["--spot"])
        #expect(options.launch(for: "t3.micro")?.instanceTypes == ["t3.micro", "t3a.micro"])
        #expect(try SpotOptions.parse([]).launch(for: "t3.micro") == nil)

        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let many = (1...21).map { "c5.\($0)xlarge" }.joined(separator: ",")
        for bad in [["--spot-types", "c5.large"], ["--spot", "--spot-types", "not a type"], ["--spot", "--spot-types", ","], ["--spot", "--spot-types", many]] {
            let outcome = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "aws:1", "--dry-run"] + bad)
            #expect(outcome.status == 64, "\(bad): \(outcome.stderr)")
            #expect(outcome.stderr.contains("--spot-types"), "\(bad): \(outcome.stderr)")
            let launch = try await harness.run(["aws", "launch", "--ssh-cidr", "10.0.0.1/32"] + bad)
            #expect(launch.status == 64, "aws launch \(bad): \(launch.stderr)")
        }
    }

    @Test("--dry-run --spot when AWS cannot be reached: the on-demand plan, and why there is no spot price")
    func dryRunSpotWithoutAWS() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let home = harness.scratch.appendingPathComponent("home").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let outcome = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "aws:4:c5.9xlarge", "--dry-run", "--spot"],
                                            env: ["HOME": home, "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "x",
                                                  "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("cost: $"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("spot: no spot price ("), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("showing the on-demand cost only"), "\(outcome.stdout)")
    }
}
