import AWS
import Foundation
import Scheduling

/// `run-tests --dry-run` with `aws:N` targets: what the run would launch, how long it
/// would take from launch to teardown, what it would cost, and the instance count
/// that finishes soonest for no more money. Nothing is launched.
struct CloudPlan {
    /// Launch to SSH-ready on EC2 for the distributions we use (typical, not measured here).
    static let bootSeconds = 60.0
    /// EC2 bills Linux instances per second with a one-minute minimum.
    static let minimumBilledSeconds = 60.0

    struct Fleet {
        var count: Int
        var instanceType: String
        var slotsPerInstance: Int
        /// With `--spot`: the spot price the plan predicts with, or why there is none.
        var spot: SpotQuote? = nil
    }

    enum SpotQuote: Equatable {
        /// The cheapest price in effect now among the types the fleet may choose.
        case price(SpotPrice, types: [String])
        /// DescribeSpotPriceHistory failed or knew none of the types.
        case unavailable(String)
    }

    struct Estimate: Equatable {
        var instances: Int
        var makespan: Double
        var wall: Double
        /// US dollars; nil when the type's price is unknown.
        var cost: Double?
    }

    let tests: [Simulator.Test]
    let policy: BatchPolicy
    let batchOverhead: Double
    /// Agent deploy, sync and the runner's build, per host (they run in parallel across hosts).
    let setupSeconds: Double

    /// The run with `instances` instances of `fleet`'s shape.
    func estimate(_ fleet: Fleet, instances: Int) -> Estimate {
        let result = Simulator.run(tests: tests, slots: max(1, instances * fleet.slotsPerInstance), policy: policy, batchOverhead: batchOverhead)
        let wall = Self.bootSeconds + setupSeconds + result.makespan
        let price = InstanceTypes.table[fleet.instanceType]?.hourlyPrice
        let cost = price.map { Double(instances) * $0 * max(wall, Self.minimumBilledSeconds) / 3600 }
        return Estimate(instances: instances, makespan: result.makespan, wall: wall, cost: cost)
    }

    /// Among 1…`limit` instances, the one that ends soonest at no more than `budget`.
    func fastestWithin(_ fleet: Fleet, budget: Double, limit: Int) -> Estimate? {
        (1...max(1, limit)).map { estimate(fleet, instances: $0) }
            .filter { ($0.cost ?? .infinity) <= budget * (1 + 1e-9) }
            .min { ($0.wall, $0.instances) < ($1.wall, $1.instances) }
    }

    /// The plan as printed.
    func render(_ fleets: [Fleet], runner: String, known: Int) -> String {
        var lines = ["plan: \(tests.count) tests, runner \(runner); durations: \(known) recorded, \(tests.count - known) estimated"]
        for fleet in fleets {
            let planned = estimate(fleet, instances: fleet.count)
            lines.append("aws:\(fleet.count):\(fleet.instanceType): \(fleet.count) instances × \(fleet.slotsPerInstance) slots = \(fleet.count * fleet.slotsPerInstance) slots")
            lines.append(String(format: "  predicted: boot %.0fs + setup %.0fs + tests %.1fs = %.1fs from launch to teardown",
                                Self.bootSeconds, setupSeconds, planned.makespan, planned.wall))
            guard let cost = planned.cost, let price = InstanceTypes.table[fleet.instanceType]?.hourlyPrice else {
                lines.append("  cost: unknown (no price for \(fleet.instanceType) in the table; see docs/aws.md)")
                if let spot = fleet.spot { lines.append(spotLine(spot, fleet: fleet, wall: planned.wall)) }
                continue
            }
            lines.append(String(format: "  cost: $%.2f on demand (%d × $%.4f/h, billed per second, 60 s minimum; prices %@)",
                                cost, fleet.count, price, InstanceTypes.pricesAsOf))
            if let spot = fleet.spot { lines.append(spotLine(spot, fleet: fleet, wall: planned.wall)) }
            if let best = fastestWithin(fleet, budget: cost, limit: max(64, fleet.count * 4)) {
                if best.instances == fleet.count {
                    lines.append("  no other instance count finishes sooner for this cost")
                } else if best.wall < planned.wall - 1e-6 {
                    lines.append(String(format: "  for no more money, aws:%d:%@ finishes sooner: %.1fs, $%.2f",
                                        best.instances, fleet.instanceType, best.wall, best.cost ?? 0))
                } else {
                    lines.append(String(format: "  aws:%d:%@ finishes as soon for less: %.1fs, $%.2f",
                                        best.instances, fleet.instanceType, best.wall, best.cost ?? 0))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The run's cost at the spot price, billed like on-demand; capacity spot cannot give is
    /// launched on demand, so the on-demand line stays the upper bound.
    func spotLine(_ quote: SpotQuote, fleet: Fleet, wall: Double) -> String {
        switch quote {
        case .price(let price, let types):
            let cost = Double(fleet.count) * price.price * max(wall, Self.minimumBilledSeconds) / 3600
            return String(format: "  spot: $%.2f at today's spot price (%d × %@/h, %@ in %@, the cheapest of %@); "
                          + "what spot cannot give launches on demand", cost, fleet.count, LaunchSummary.dollars(price.price), price.instanceType,
                          price.availabilityZone, types.joined(separator: ", "))
        case .unavailable(let reason):
            return "  spot: no spot price (\(reason)); showing the on-demand cost only, which is what --spot pays at most"
        }
    }
}
