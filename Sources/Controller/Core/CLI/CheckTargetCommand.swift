import ArgumentParser
import Foundation
import SSH

/// `automation check-target TARGET`: does this host offer what a test host needs?
struct CheckTargetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-target",
        abstract: "Check that an ssh:// host offers what a test host needs and print a report.",
        discussion: "Checks: SSH login and host key, SFTP, writable home and agent cache, /bin/bash, passwordless sudo, free disk, architecture. Exit 0 when all pass, 1 otherwise."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Argument(help: "ssh://[user@]host[:port]") var target: String

    @Option(help: "Free disk space required in the home directory, in GiB.")
    var minFreeGiB = 10

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            guard case .ssh(let address) = try TargetSpec(parsing: target) else {
                throw UsageError("check-target works on ssh:// targets only")
            }
            let endpoint = try SSHTargets.endpoint(address)
            let session = try await SSHSession.connect(to: endpoint, configuration: targets.sshConfiguration(state: global.state), logger: logger)
            defer { session.close() }
            let report = try await TargetCheck(session: session, minFreeGiB: minFreeGiB).run()
            print("\(endpoint) (host key \(session.info.hostKey.fingerprint), logged in with \(session.info.authenticatedWith))")
            for item in report {
                print("  \(item.passed ? "ok  " : (item.required ? "FAIL" : "warn"))  \(item.name): \(item.detail)")
            }
            let failed = report.filter { !$0.passed && $0.required }.count
            print(failed == 0 ? "ready: this host can be a test host" : "not ready: \(failed) required check(s) failed")
            return failed == 0 ? 0 : 1
        }
    }
}

/// The checks behind `check-target`: one SSH exec for the shell facts, SFTP for the rest.
struct TargetCheck {
    struct Item {
        var name: String
        var passed: Bool
        var required: Bool
        var detail: String
    }

    let session: SSHSession
    let minFreeGiB: Int

    static let probe = """
        printf 'arch=%s\\n' "$(uname -m)"
        printf 'os=%s\\n' "$(. /etc/os-release 2>/dev/null; echo "$PRETTY_NAME")"
        if [ -x /bin/bash ]; then echo bash=yes; else echo bash=no; fi
        if command -v sudo >/dev/null 2>&1; then
          if sudo -n true 2>/dev/null; then echo sudo=yes; else echo sudo=password; fi
        else echo sudo=missing; fi
        printf 'disk_kb=%s\\n' "$(df -Pk "$HOME" 2>/dev/null | awk 'NR==2 {print $4}')"
        """

    func run() async throws -> [Item] {
        var items: [Item] = []
        let probe = try await session.execute(Self.probe)
        var facts: [String: String] = [:]
        for line in probe.output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { facts[String(parts[0])] = String(parts[1]) }
        }
        let arch = facts["arch"] ?? "unknown"
        items.append(Item(name: "architecture", passed: arch == "x86_64", required: true,
                          detail: arch == "x86_64" ? "x86_64 (\(facts["os"] ?? "unknown OS"))" : "\(arch): the agent is built for x86_64 only"))
        items.append(Item(name: "/bin/bash", passed: facts["bash"] == "yes", required: true,
                          detail: facts["bash"] == "yes" ? "present" : "missing: test scripts need bash (apt-get install bash)"))
        let sudo = facts["sudo"] ?? "missing"
        items.append(Item(name: "passwordless sudo", passed: sudo == "yes", required: true, detail: [
            "yes": "sudo -n true works",
            "password": "sudo asks for a password: add 'USER ALL=(ALL) NOPASSWD:ALL' in /etc/sudoers.d/",
            "missing": "sudo is not installed (apt-get install sudo)",
        ][sudo] ?? sudo))
        let freeKB = Int(facts["disk_kb"] ?? "") ?? 0
        let freeGiB = Double(freeKB) / 1_048_576
        items.append(Item(name: "free disk in home", passed: freeGiB >= Double(minFreeGiB), required: true,
                          detail: String(format: "%.1f GiB free (need %d GiB)", freeGiB, minFreeGiB)))

        do {
            let sftp = try await session.openSFTP()
            let home = try await sftp.realPath(".")
            items.append(Item(name: "SFTP", passed: true, required: true, detail: "works, home is \(home)"))
            items.append(await writable(sftp, directory: ".", name: "writable home"))
            do {
                try await sftp.makeDirectories(".cache/automation", mode: 0o700)
                items.append(await writable(sftp, directory: ".cache/automation", name: "writable agent cache (~/.cache/automation)"))
            } catch {
                items.append(Item(name: "writable agent cache (~/.cache/automation)", passed: false, required: true, detail: "\(error)"))
            }
        } catch {
            items.append(Item(name: "SFTP", passed: false, required: true, detail: "\(error) (is 'Subsystem sftp' configured in sshd_config?)"))
        }
        return items
    }

    private func writable(_ sftp: SFTPClient, directory: String, name: String) async -> Item {
        let probe = "\(directory)/.automation-check-\(UInt32.random(in: 0...UInt32.max))"
        let local = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(getpid())").path
        FileManager.default.createFile(atPath: local, contents: Data("probe".utf8))
        defer { unlink(local) }
        do {
            try await sftp.upload(from: local, to: probe)
            try await sftp.remove(probe)
            return Item(name: name, passed: true, required: true, detail: "yes")
        } catch {
            return Item(name: name, passed: false, required: true, detail: "\(error)")
        }
    }
}
