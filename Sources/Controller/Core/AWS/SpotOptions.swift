import AWS
import ArgumentParser

/// `--spot` and `--spot-types`, shared by `aws launch` and `run-tests --target aws:N`.
struct SpotOptions: ParsableArguments, Sendable {
    @Flag(help: "Launch Spot Instances through an EC2 Fleet (price-capacity-optimized), on demand for what spot cannot give.")
    var spot = false

    @Option(name: .customLong("spot-types"),
            help: "Comma-separated instance types a --spot fleet may choose (default: the instance type plus up to 3 known types with the same vCPUs).")
    var spotTypes: String?

    mutating func validate() throws {
        guard let spotTypes else { return }
        guard spot else { throw ValidationError("--spot-types only applies with --spot") }
        let types = Self.split(spotTypes)
        guard !types.isEmpty, types.count <= SpotLaunch.maxInstanceTypes else {
            throw ValidationError("--spot-types takes 1 to \(SpotLaunch.maxInstanceTypes) instance types, e.g. c5.9xlarge,c5d.9xlarge")
        }
        if let bad = types.first(where: { !InstanceTypes.isWellFormed($0) }) {
            throw ValidationError("--spot-types: '\(bad)' is not an instance type (like c5.9xlarge)")
        }
        for type in types { try InstanceTypes.requireX86_64(type, flag: "--spot-types") }
    }

    /// The fleet's types for `instanceType`: it first, then `--spot-types` or the default
    /// alternatives; nil without `--spot`.
    func launch(for instanceType: String) -> SpotLaunch? {
        guard spot else { return nil }
        var types = [instanceType]
        for type in spotTypes.map(Self.split) ?? InstanceTypes.spotAlternatives(to: instanceType) where !types.contains(type) {
            types.append(type)
        }
        return SpotLaunch(instanceTypes: Array(types.prefix(SpotLaunch.maxInstanceTypes)))
    }

    static func split(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
