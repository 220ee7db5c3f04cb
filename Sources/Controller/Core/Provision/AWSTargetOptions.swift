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

    @Option(name: .customLong("instance-ttl"), parsing: .unconditional, help: "aws:N instances power off and terminate after this long whatever happens, e.g. 2h.")
    var instanceTTL = "4h"

    @Option(name: .customLong("instance-idle-timeout"), parsing: .unconditional,
            help: "aws:N instances power off, and so terminate, after this long with no controller connected (a controller that was killed), e.g. 10m.")
    var instanceIdleTimeout = "10m"

    @Option(name: .customLong("boot-timeout"), parsing: .unconditional, help: "Longest wait for a launched instance to accept SSH, e.g. 5m.")
    var bootTimeout = "10m"

    @Flag(name: .customLong("dev-image"), help: "Launch aws:N instances from the namespace's dev image of --distro (what bootstrap-linux-dev --distros builds; built first when missing, which takes minutes) and connect as hg.")
    var devImage = false

    @OptionGroup(title: "Dev image (with --dev-image; the same values as bootstrap-linux-dev's find the same image)") var imageInputs: DevImageOptions

    @Option(name: .customLong("builder-type"), help: "With --dev-image: the instance type that builds a missing image (part of its fingerprint).")
    var builderType = BootstrapLinuxDevCommand.defaultBuilderType

    @Option(help: ArgumentHelp("Make /hgwork on each aws:N instance with this filesystem (\(PrepareWorkdirCommand.filesystems.joined(separator: ", "))) and run there: the working copy in /hgwork/src, the tests' scratch in /hgwork/tmp.", valueName: "fs"))
    var filesystem: String?

    @Option(name: .customLong("workdir-volume-size"), help: "With a --filesystem that needs a disk: the extra EBS volume's size in GiB (1-16384).")
    var workdirVolumeSize = 32

    @Flag(help: "Keep aws:N instances after the run (until --instance-ttl) and print their --target lines.")
    var keep = false

    /// The extra volume a --filesystem is made on; default and tmpfs need none.
    var extraVolumeSize: Int? {
        guard let filesystem, !["default", "tmpfs"].contains(filesystem) else { return nil }
        return workdirVolumeSize
    }

    /// Where a prepared instance's work happens.
    static let workRoot = "/hgwork"

    mutating func validate() throws {
        _ = try DurationParser.parse(instanceTTL, flag: "--instance-ttl")
        _ = try DurationParser.parse(bootTimeout, flag: "--boot-timeout")
        _ = try instanceIdleSeconds()
        _ = try Distro.named(distro)
        guard InstanceTypes.isWellFormed(instanceType) else { throw ValidationError("--instance-type '\(instanceType)' is not an instance type (like c5.9xlarge)") }
        if devImage && image != nil { throw ValidationError("--dev-image chooses the image; drop --image") }
        if let filesystem, !PrepareWorkdirCommand.filesystems.contains(filesystem) {
            throw ValidationError("--filesystem must be one of \(PrepareWorkdirCommand.filesystems.joined(separator: ", ")); got '\(filesystem)'")
        }
        guard (1...16384).contains(workdirVolumeSize) else { throw ValidationError("--workdir-volume-size must be 1-16384 GiB") }
        guard InstanceTypes.isWellFormed(builderType) else { throw ValidationError("--builder-type '\(builderType)' is not an instance type (like t3.2xlarge)") }
        try InstanceTypes.requireX86_64(instanceType, flag: "--instance-type")
        try InstanceTypes.requireX86_64(builderType, flag: "--builder-type")
        if let sshCidr, !CallerAddress.isIPv4CIDR(sshCidr) { throw ValidationError("--ssh-cidr must look like 203.0.113.7/32") }
    }

    /// `--instance-idle-timeout` in seconds, within what the agent's `--idle-timeout` takes (365 days).
    func instanceIdleSeconds() throws -> Int {
        let seconds = Int(try DurationParser.parse(instanceIdleTimeout, flag: "--instance-idle-timeout").components.seconds)
        guard seconds <= 365 * 86400 else { throw ValidationError("--instance-idle-timeout: \"\(instanceIdleTimeout)\" is longer than the limit of 365 days") }
        return seconds
    }
}
