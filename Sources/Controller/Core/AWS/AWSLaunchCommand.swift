import AWS
import ArgumentParser
import Foundation

/// `automation aws launch`: tagged instances with pinned host keys and a lifetime.
struct AWSLaunchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Launch tagged, self-terminating instances and print their ids, addresses and host key fingerprints."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var aws: AWSCommandOptions
    @OptionGroup var spot: SpotOptions

    @Option(help: "Number of instances (one RunInstances call per 16; with --spot, one fleet).")
    var count = 1

    @Option(name: .customLong("instance-type"), help: "EC2 instance type.")
    var instanceType = "c5.9xlarge"

    @Option(help: "AMI id to launch (overrides --distro).")
    var image: String?

    @Option(help: "Base distribution: \(Distro.all.map(\.name).joined(separator: ", ")).")
    var distro = Distro.defaultName

    @Option(parsing: .unconditional, help: "Lifetime after which instances power off and terminate, e.g. 4h or 90m.")
    var ttl = "4h"

    @Option(name: .customLong("ssh-cidr"), help: "IPv4 range allowed to reach SSH (default: this machine's public address /32).")
    var sshCidr: String?

    @Option(name: .customLong("root-volume-size"), help: "Root volume size in GiB (default: the image's).")
    var rootVolumeSize: Int?

    @Option(name: .customLong("workdir-volume-size"), help: "Attach an extra empty gp3 volume of this many GiB (1-16384) for prepare-workdir's /hgwork (default: none).")
    var workdirVolumeSize: Int?

    @Flag(name: .customLong("no-instance-profile"), help: "Launch without the namespace's IAM instance profile (no SSM; needs no IAM permissions).")
    var noInstanceProfile = false

    @Flag(help: "Print one JSON object per instance.")
    var json = false

    mutating func validate() throws {
        guard (1...1000).contains(count) else { throw ValidationError("--count must be 1-1000") }
        _ = try DurationParser.parse(ttl, flag: "--ttl")
        _ = try Distro.named(distro)
        try InstanceTypes.requireX86_64(instanceType, flag: "--instance-type")
        if let rootVolumeSize, !(1...16384).contains(rootVolumeSize) { throw ValidationError("--root-volume-size must be 1-16384 GiB") }
        if let workdirVolumeSize, !(1...16384).contains(workdirVolumeSize) { throw ValidationError("--workdir-volume-size must be 1-16384 GiB") }
        if let sshCidr, !CallerAddress.isIPv4CIDR(sshCidr) { throw ValidationError("--ssh-cidr must look like 203.0.113.7/32") }
        if sshCidr == "0.0.0.0/0" { FileHandle.standardError.write(Data("automation: warning: --ssh-cidr 0.0.0.0/0 opens SSH to the whole Internet\n".utf8)) }
    }

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            var automation = try await aws.automation(global: global, logger: logger)
            var request = LaunchRequest(
                count: count, instanceType: instanceType, imageId: image, distro: try Distro.named(distro),
                ttl: try DurationParser.parse(ttl, flag: "--ttl"), sshCidr: "", rootVolumeSize: rootVolumeSize)
            request.workdirVolumeSize = workdirVolumeSize
            request.spot = spot.launch(for: instanceType)
            automation.useInstanceProfile = !noInstanceProfile
            let cidr = if let sshCidr { sshCidr } else { try await CallerAddress.publicCIDR(http: automation.client.http) }
            request.sshCidr = cidr
            let result = try await automation.launch(request)
            let user = try Distro.named(distro).defaultUser
            for instance in result.run.instances {
                let address = instance.publicIp ?? instance.privateIp
                let target = address.map { "ssh://\(user)@\($0)" }
                if json {
                    let object: [String: Any] = ["id": instance.id, "publicIp": instance.publicIp ?? NSNull(), "privateIp": instance.privateIp ?? NSNull(),
                                                 "hostKey": instance.hostPublicKey, "fingerprint": instance.hostKeyFingerprint, "run": result.run.runId,
                                                 "user": user, "target": target ?? NSNull(),
                                                 "instanceType": instance.instanceType ?? instanceType,
                                                 "lifecycle": instance.lifecycle ?? "on-demand", "spotPrice": instance.spotPrice ?? NSNull()]
                    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                } else {
                    print("\(instance.id)\t\(address ?? "-")\t\(instance.hostKeyFingerprint)\t\(target.map { "--target \($0)" } ?? "-")")
                }
            }
            if spot.spot { FileHandle.standardError.write(Data(LaunchSummary.lines(result, defaultType: instanceType).utf8)) }
            let expiry = result.run.expiresAt.map { ISO8601DateFormatter().string(from: $0) } ?? "-"
            FileHandle.standardError.write(Data("""
                automation: run \(result.run.runId) in namespace \(automation.ownership.namespace); instances expire at \(expiry)
                automation: log in as \(user) with \(automation.state.clientKeyPath(namespace: automation.ownership.namespace).path); \
                host keys are pinned in \(automation.state.knownHostsFile.path), so the --target lines work as they are \
                (same --state-path)

                """.utf8))
            return 0
        }
    }
}
