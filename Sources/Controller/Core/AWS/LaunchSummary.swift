import AWS
import Foundation

/// What a `--spot` launch got, one line per instance on stderr: spot or on-demand, where, and
/// for how much (the spot price in effect at launch; on demand, the table's us-east-1 price).
enum LaunchSummary {
    static func lines(_ result: LaunchResult, defaultType: String) -> String {
        let run = result.run
        let spot = run.instances.filter { $0.lifecycle == "spot" }.count
        var lines = ["automation: \(run.instances.count) instances: \(spot) spot, \(run.instances.count - spot) on demand"]
        if spot < run.instances.count {
            // Why spot fell short, as EC2 said it (several pools can fail for one reason).
            let reasons = Array(Set(result.fleetErrors.filter { $0.lifecycle != "on-demand" }.map(\.description))).sorted()
            lines.append("automation: spot fell short: \(reasons.isEmpty ? "EC2 gave no reason" : reasons.joined(separator: "; "))")
        }
        for instance in run.instances {
            let type = instance.instanceType ?? defaultType
            let zone = instance.availabilityZone.map { " in \($0)" } ?? ""
            let price: String
            if instance.lifecycle == "spot" {
                price = instance.spotPrice.map { "\(dollars($0))/h spot price at launch" } ?? "spot price unknown"
            } else if let hourly = InstanceTypes.table[type]?.hourlyPrice {
                price = "\(dollars(hourly))/h on demand (\(InstanceTypes.pricesAsOf))"
            } else {
                price = "on-demand price unknown"
            }
            lines.append("automation:   \(instance.id) \(type) \(instance.lifecycle ?? "on-demand")\(zone): \(price)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Four decimals, or six for the fractions of a cent some spot prices (and moto's) are.
    static func dollars(_ value: Double) -> String {
        String(format: value >= 0.01 ? "$%.4f" : "$%.6f", value)
    }
}
