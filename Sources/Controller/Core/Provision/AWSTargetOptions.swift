import AWS
import ArgumentParser

/// How `aws:N` targets are launched: the AWS account options plus the instances' shape and lifetime.
struct AWSTargetOptions: ParsableArguments, Sendable {
    @OptionGroup(title: "AWS targets (aws:N[:TYPE])") var aws: AWSCommandOptions
    @OptionGroup(title: "AWS targets (aws:N[:TYPE])") var spot: SpotOptions

    @Option(name: .customLong("instance-type"), help: "Instance type for aws:N targets that name none.")
    var instanceType = "c5.9xlarge"

    @Option(help: "Base distribution of aws:N instances: \(Distro.all.map(\.name).joined(separator: ", ")).")
    var distro = Distro.defaultName

    @Option(help: "AMI id for aws:N instances (overrides --distro; its login user is still the distro's).")
    var image: String?

    @Option(name: .customLong("ssh-cidr"), help: "IPv4 range allowed to reach SSH on aws:N instances (default: this machine's public address /32).")
    var sshCidr: String?

    @Option(name: .customLong("instance-ttl"), help: "aws:N instances power off and terminate after this long whatever happens, e.g. 2h.")
    var instanceTTL = "4h"

    @Option(name: .customLong("boot-timeout"), help: "Longest wait for a launched instance to accept SSH, e.g. 5m.")
    var bootTimeout = "10m"

    @Flag(help: "Keep aws:N instances after the run (until --instance-ttl) and print their --target lines.")
    var keep = false

    mutating func validate() throws {
        _ = try DurationParser.parse(instanceTTL, flag: "--instance-ttl")
        _ = try DurationParser.parse(bootTimeout, flag: "--boot-timeout")
        _ = try Distro.named(distro)
        guard InstanceTypes.isWellFormed(instanceType) else { throw ValidationError("--instance-type '\(instanceType)' is not an instance type (like c5.9xlarge)") }
        if let sshCidr, !CallerAddress.isIPv4CIDR(sshCidr) { throw ValidationError("--ssh-cidr must look like 203.0.113.7/32") }
    }
}
