import ArgumentParser
import Foundation

/// `automation prepare-workdir`: a fresh filesystem at /hgwork, owned by hg
/// (deploy/linux/prepare-workdir.sh, docs/bootstrap.md), made through sudo
/// on the agent.
struct PrepareWorkdirCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare-workdir",
        abstract: "Make and mount a fresh filesystem at /hgwork, owned by hg.",
        discussion: """
            The device is an unused instance-store NVMe disk, else an unused empty extra EBS \
            volume, else a sparse loop file; tmpfs is sized from memory unless --size is given; \
            'default' is a directory on the root filesystem. A filesystem the kernel cannot \
            mount is refused before anything changes. Idempotent: a mount point that already \
            holds the filesystem is kept. Exit status: 0 ready, 1 refused or failed (the \
            message says why), 64 usage, 255 unreachable target.
            """
    )

    static let filesystems = ["btrfs", "ext3", "ext4", "jfs", "tmpfs", "xfs", "default"]

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Option(help: ArgumentHelp("btrfs, ext3, ext4, jfs, tmpfs, xfs or default.", valueName: "fs"))
    var filesystem: String

    @Option(help: ArgumentHelp("Size of a loop file or tmpfs: a whole number with K, M, G or T, 16M to 64T (default: 8G; tmpfs half the memory).", valueName: "size"))
    var size: String?

    @Option(help: ArgumentHelp("An empty block device to use instead of choosing one.", valueName: "path"))
    var device: String?

    @Option(name: .customLong("mount-point"), help: ArgumentHelp("Where to mount it.", valueName: "path"))
    var mountPoint = "/hgwork"

    @Option(name: .customLong("loop-file"), help: ArgumentHelp("The loop file used when no spare disk exists (default: /var/lib/automation/hgwork.img).", valueName: "path"))
    var loopFile: String?

    @Option(help: ArgumentHelp("The user who owns the mount point.", valueName: "user"))
    var owner = "hg"

    mutating func validate() throws {
        guard Self.filesystems.contains(filesystem) else {
            throw ValidationError("--filesystem must be one of \(Self.filesystems.joined(separator: ", ")); got '\(filesystem)'")
        }
        if let size, Self.bytes(size) == nil {
            throw ValidationError("--size '\(size)' must be a whole number with K, M, G or T, between 16M and 64T")
        }
        for (flag, path) in [("--mount-point", mountPoint), ("--device", device), ("--loop-file", loopFile)] {
            if let path, !path.hasPrefix("/") || path.contains("\n") || path.contains("\0") {
                throw ValidationError("\(flag) must be an absolute path, got '\(path)'")
            }
        }
        guard mountPoint != "/" else { throw ValidationError("--mount-point / would hide the root filesystem") }
        guard !owner.isEmpty, owner.count <= 32, owner.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }) else {
            throw ValidationError("--owner must be a user name, got '\(owner)'")
        }
    }

    /// SIZE in bytes, or nil when malformed or outside 16 MiB…64 TiB (the script checks the same).
    static func bytes(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = Substring(text), multiplier: Int64 = 1
        if let last = text.last, let unit = units[last] { digits = text.dropLast(); multiplier = unit }
        guard !digits.isEmpty, digits.count <= 14, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let number = Int64(digits) else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow, bytes >= 16 << 20, bytes <= 64 << 40 else { return nil }
        return bytes
    }

    var arguments: [String] {
        var result = ["--filesystem", filesystem, "--mount-point", mountPoint, "--owner", owner]
        if let size { result += ["--size", size] }
        if let device { result += ["--device", device] }
        if let loopFile { result += ["--loop-file", loopFile] }
        return result
    }

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let specs = try targets.specs()
            let script = RemoteScript.prepareWorkdir
            let interrupts = InterruptMonitor()
            defer { interrupts.stop() }
            let targetOptions = targets, state = global.state, arguments = arguments
            let statuses = try await withThrowingTaskGroup(of: (Int, Int32).self) { group in
                for (index, spec) in specs.enumerated() {
                    let prefix = specs.count > 1 ? "[\(spec)] " : nil
                    group.addTask {
                        do {
                            let client = try await Targets.connect(spec, options: targetOptions, state: state, logger: logger)
                            defer { client.close() }
                            return (index, try await script.run(on: client, target: "\(spec)", arguments: arguments,
                                                                prefix: prefix, interrupts: interrupts))
                        } catch {
                            CommandRunner.report("\(spec): \(error)")
                            return (index, -1)
                        }
                    }
                }
                var statuses = [Int32](repeating: 0, count: specs.count)
                for try await (index, status) in group { statuses[index] = status }
                return statuses
            }
            if interrupts.fired { return ExitCodes.interrupted }
            for (spec, status) in zip(specs, statuses) where status > 0 {
                CommandRunner.report("\(spec): prepare-workdir.sh exited with status \(status); the message above says why")
            }
            if statuses.contains(where: { $0 < 0 }) { return ExitCodes.infrastructure }
            return statuses.contains { $0 != 0 } ? 1 : 0
        }
    }
}
