import Foundation
import Testing
import TestSupport

/// "A stock machine" (deploy/testhost/stockhost.sh): a fresh Debian 12 from
/// the cached debootstrap root file system under a private overlay, with its
/// own sshd chrooted into it in private mount, UTS and PID namespaces. Its
/// one user is `admin` with passwordless sudo, as on cloud images. `down`
/// ends every process in it and every mount it made.
final class StockHostFixture: @unchecked Sendable {
    let directory: URL
    let port: Int
    private var stopped = false

    static let script = RunTestsHarness.repoRoot.appendingPathComponent("deploy/testhost/stockhost.sh").path
    static let rootfsScript = RunTestsHarness.repoRoot.appendingPathComponent("deploy/testhost/rootfs.sh").path

    /// Root, debootstrap, unshare and sshd; with CI=true a missing piece is a failure, not a skip.
    static let requirement = Requirement("needs root, debootstrap, unshare and sshd (deploy/install-deps.sh)") {
        getuid() == 0 && RunTestsHarness.which("debootstrap") != nil && RunTestsHarness.which("unshare") != nil
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")
    }

    /// Makes the cached root file system when missing (minutes, once per machine), then starts the host.
    init(directory: URL) throws {
        guard getuid() == 0 else { throw HarnessError("the stock host fixture needs root") }
        for tool in ["debootstrap", "unshare", "ssh-keygen"] where RunTestsHarness.which(tool) == nil {
            throw HarnessError("the stock host fixture needs \(tool) (deploy/install-deps.sh installs it)")
        }
        let rootfs = RunTestsHarness.shell([Self.rootfsScript, "ensure"])
        guard rootfs.status == 0 else { throw HarnessError("rootfs.sh ensure failed: \(rootfs.output)") }
        self.directory = directory
        let started = RunTestsHarness.shell([Self.script, "up", directory.path])
        guard started.status == 0,
              let line = started.output.split(separator: "\n").last(where: { $0.hasPrefix("address=") }),
              let portField = line.split(separator: " ").first(where: { $0.hasPrefix("port=") }),
              let port = Int(portField.dropFirst(5)) else {
            _ = RunTestsHarness.shell([Self.script, "down", directory.path])
            throw HarnessError("stockhost.sh up failed: \(started.output)")
        }
        self.port = port
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        RunTestsHarness.shell([Self.script, "down", directory.path])
    }

    deinit { stop() }

    var clientKey: String { directory.appendingPathComponent("id_ed25519").path }
    var publicKey: String { clientKey + ".pub" }

    func target(user: String, slots: Int? = nil) -> String {
        "ssh://\(user)@127.0.0.1:\(port)" + (slots.map { "/\($0)" } ?? "")
    }

    /// The SSH flags for the automation CLI: the client key and the pinned host key.
    func sshFlags() throws -> [String] {
        let keygen = RunTestsHarness.shell(["ssh-keygen", "-l", "-E", "sha256", "-f",
                                            directory.appendingPathComponent("ssh_host_ed25519_key.pub").path])
        let fields = keygen.output.split(separator: " ")
        guard keygen.status == 0, fields.count > 1 else { throw HarnessError("ssh-keygen -l failed: \(keygen.output)") }
        return ["--identity", clientKey, "--host-key", String(fields[1])]
    }
}
