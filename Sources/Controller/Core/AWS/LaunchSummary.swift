import AWS
import Foundation

/// What a `--spot` launch got, one line per instance on stderr: spot or on-demand, where, and
/// for how much (the spot price in effect at launch; on demand, the table's us-east-1 price).
enum LaunchSummary {
    static func lines(_ run: RunRecord, defaultType: String) -> String {
        let spot = run.instances.filter { $0.lifecycle == "spot" }.count
        var lines = ["automation: \(run.instances.count) instances: \(spot) spot, \(run.instances.count - spot) on demand"]
        for instance in run.instances {
            let type = instance.instanceType ?? defaultType
            let zone = instance.availabilityZone.map { " in \($0)" } ?? ""
            let price: String
            if instance.lifecycle == "spot" {
                price = instance.spotPrice.map { String(format: "$%.4f/h spot price at launch", $0) } ?? "spot price unknown"
            } else if let hourly = InstanceTypes.table[type]?.hourlyPrice {
                price = String(format: "$%.4f/h on demand (%@)", hourly, InstanceTypes.pricesAsOf)
            } else {
                price = "on-demand price unknown"
            }
            lines.append("automation:   \(instance.id) \(type) \(instance.lifecycle ?? "on-demand")\(zone): \(price)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
