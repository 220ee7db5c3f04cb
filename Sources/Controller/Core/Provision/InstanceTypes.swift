import ArgumentParser

/// What the controller knows about common EC2 instance types without asking AWS:
/// vCPUs (the default slots per host) and the on-demand Linux price in us-east-1,
/// for `run-tests --dry-run` cost estimates.
enum InstanceTypes {
    /// When the prices were read off the EC2 on-demand pricing page; estimates say so.
    static let pricesAsOf = "2025-01, us-east-1, Linux on-demand"

    struct Info: Sendable, Equatable {
        var vcpus: Int
        /// US dollars per hour.
        var hourlyPrice: Double
    }

    static let table: [String: Info] = [
        "t3.micro": Info(vcpus: 2, hourlyPrice: 0.0104), "t3.small": Info(vcpus: 2, hourlyPrice: 0.0208),
        "t3.medium": Info(vcpus: 2, hourlyPrice: 0.0416), "t3.large": Info(vcpus: 2, hourlyPrice: 0.0832),
        "t3.xlarge": Info(vcpus: 4, hourlyPrice: 0.1664), "t3.2xlarge": Info(vcpus: 8, hourlyPrice: 0.3328),
        "c5.large": Info(vcpus: 2, hourlyPrice: 0.085), "c5.xlarge": Info(vcpus: 4, hourlyPrice: 0.17),
        "c5.2xlarge": Info(vcpus: 8, hourlyPrice: 0.34), "c5.4xlarge": Info(vcpus: 16, hourlyPrice: 0.68),
        "c5.9xlarge": Info(vcpus: 36, hourlyPrice: 1.53), "c5.12xlarge": Info(vcpus: 48, hourlyPrice: 2.04),
        "c5.18xlarge": Info(vcpus: 72, hourlyPrice: 3.06), "c5.24xlarge": Info(vcpus: 96, hourlyPrice: 4.08),
        "c6i.large": Info(vcpus: 2, hourlyPrice: 0.085), "c6i.xlarge": Info(vcpus: 4, hourlyPrice: 0.17),
        "c6i.2xlarge": Info(vcpus: 8, hourlyPrice: 0.34), "c6i.4xlarge": Info(vcpus: 16, hourlyPrice: 0.68),
        "c6i.8xlarge": Info(vcpus: 32, hourlyPrice: 1.36), "c6i.16xlarge": Info(vcpus: 64, hourlyPrice: 2.72),
        "c7i.large": Info(vcpus: 2, hourlyPrice: 0.08925), "c7i.xlarge": Info(vcpus: 4, hourlyPrice: 0.1785),
        "c7i.2xlarge": Info(vcpus: 8, hourlyPrice: 0.357), "c7i.4xlarge": Info(vcpus: 16, hourlyPrice: 0.714),
        "c7i.8xlarge": Info(vcpus: 32, hourlyPrice: 1.428), "c7i.16xlarge": Info(vcpus: 64, hourlyPrice: 2.856),
        "m5.large": Info(vcpus: 2, hourlyPrice: 0.096), "m5.xlarge": Info(vcpus: 4, hourlyPrice: 0.192),
        "m5.2xlarge": Info(vcpus: 8, hourlyPrice: 0.384), "m5.4xlarge": Info(vcpus: 16, hourlyPrice: 0.768),
        "m5.8xlarge": Info(vcpus: 32, hourlyPrice: 1.536), "m6i.8xlarge": Info(vcpus: 32, hourlyPrice: 1.536),
        "c5d.9xlarge": Info(vcpus: 36, hourlyPrice: 1.728), "c5n.9xlarge": Info(vcpus: 36, hourlyPrice: 1.944),
        "c5a.8xlarge": Info(vcpus: 32, hourlyPrice: 1.232), "c6a.8xlarge": Info(vcpus: 32, hourlyPrice: 1.224),
        "t3a.micro": Info(vcpus: 2, hourlyPrice: 0.0094), "t3a.small": Info(vcpus: 2, hourlyPrice: 0.0188),
    ]

    /// A spot fleet is more likely to find capacity, and a low price, when it may choose among
    /// several pools. The default alternatives to `type`: known types with the same vCPUs (so a
    /// host keeps its slot count), burstable (t*) only for a burstable type, costing at most
    /// half as much again on demand, cheapest first.
    static func spotAlternatives(to type: String, limit: Int = 3) -> [String] {
        guard let info = table[type] else { return [] }
        let burstable = { (name: String) in name.hasPrefix("t") }
        return table.filter { $0.key != type && $0.value.vcpus == info.vcpus && burstable($0.key) == burstable(type)
            && $0.value.hourlyPrice <= info.hourlyPrice * 1.5 }
            .sorted { ($0.value.hourlyPrice, $0.key) < ($1.value.hourlyPrice, $1.key) }
            .prefix(limit).map(\.key)
    }

    /// vCPUs of a known type.
    static func vcpus(_ type: String) -> Int? { table[type]?.vcpus }

    /// Whether `type` is an arm64 (AWS Graviton) type: a `g` among the letters after the
    /// family's generation digit (c6g, c7gn, m6gd, r8g, t4g, x2gd, im4gn, is4gen, hpc7g,
    /// g5g), or a1 / mac2 (Apple silicon). x86_64 families never have one there (g4dn,
    /// c7i-flex, x2iedn).
    static func isArm64(_ type: String) -> Bool {
        let family = type.split(separator: ".", maxSplits: 1).first.map(String.init) ?? type
        if family == "a1" || family.hasPrefix("mac2") { return true }
        guard let digit = family.firstIndex(where: \.isNumber) else { return false }
        let suffix = family[digit...].drop { $0.isNumber }
        return suffix.prefix { $0 != "-" }.contains("g")
    }

    /// Refuses an arm64 type before anything is launched: the agent (and the images'
    /// x86_64 AMIs) would not run on it, and the controller would only find out after the
    /// instances booted.
    static func requireX86_64(_ type: String, flag: String) throws {
        if let refusal = arm64Refusal(type, flag: flag) { throw ValidationError(refusal) }
    }

    /// Why `type` is refused, or nil for an x86_64 (or unknown-architecture) type.
    static func arm64Refusal(_ type: String, flag: String) -> String? {
        guard isArm64(type) else { return nil }
        return """
            \(flag): \(type) is an arm64 (AWS Graviton) instance type; automation launches x86_64 images and \
            its agent is built for x86_64 only (deploy/build-agent.sh), so nothing would run there. \
            Choose an x86_64 type, e.g. c7i.large, c6i.xlarge, m5.large or t3.medium
            """
    }

    /// Whether `text` has the shape of an instance type (`family.size`), known or not.
    static func isWellFormed(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && text.count <= 32
            && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") } }
    }
}
