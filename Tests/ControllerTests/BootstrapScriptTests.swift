@testable import AutomationKit
import Foundation
import Testing
import TestSupport

/// The shell scripts of deploy/linux and deploy/testhost: shellcheck-clean,
/// carried unchanged by the controller, and their inputs checked before
/// anything reaches a target.
@Suite("bootstrap scripts")
struct BootstrapScriptTests {
    static var shellcheck: String? { RunTestsHarness.which("shellcheck") }
    static let shellcheckInstalled = Requirement("shellcheck is not installed (apt-get install shellcheck)") { shellcheck != nil }

    @Test("deploy/linux, deploy/testhost and deploy/testcloud scripts are shellcheck-clean", .requires(shellcheckInstalled))
    func shellcheckClean() throws {
        let shellcheck = try #require(Self.shellcheck, "shellcheck is not installed (apt-get install shellcheck); deploy/install-deps.sh installs it")
        var scripts: [String] = []
        for dir in ["deploy/linux", "deploy/testhost", "deploy/testcloud"] {
            let url = RunTestsHarness.repoRoot.appendingPathComponent(dir)
            scripts += try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".sh") || $0 == "up" || $0 == "down" }
                .map { url.appendingPathComponent($0).path }
        }
        #expect(scripts.count >= 6)
        let result = RunTestsHarness.shell([shellcheck, "--shell=sh"] + scripts.sorted())
        #expect(result.status == 0, "shellcheck:\n\(result.output)")
    }

    @Test("the controller carries exactly the scripts in deploy/linux (run deploy/linux/embed.sh after editing them)")
    func embeddedScriptsMatch() throws {
        let dir = RunTestsHarness.repoRoot.appendingPathComponent("deploy/linux")
        let bootstrap = try String(contentsOf: dir.appendingPathComponent("bootstrap.sh"), encoding: .utf8)
        let prepare = try String(contentsOf: dir.appendingPathComponent("prepare-workdir.sh"), encoding: .utf8)
        #expect(EmbeddedScripts.bootstrap + "\n" == bootstrap)
        #expect(EmbeddedScripts.prepareWorkdir + "\n" == prepare)
    }

    @Test("bootstrap.sh refuses bad input before changing anything")
    func bootstrapRefusesBadInput() throws {
        let script = RunTestsHarness.repoRoot.appendingPathComponent("deploy/linux/bootstrap.sh").path
        let cases: [([String], String)] = [
            (["--authorized-key", "not a key"], "--authorized-key must be one OpenSSH public key line"),
            (["--authorized-key", "ssh-ed25519 AAAA x", "--hg-version", "7.2;rm"], "--hg-version must look like"),
            (["--authorized-key", "ssh-ed25519 AAAA x", "--pythons", "system,3.12;x"], "neither 'system' nor a pyenv version"),
            (["--bogus", "1"], "unknown argument: --bogus"),
        ]
        for (arguments, message) in cases {
            let result = RunTestsHarness.shell(["/bin/sh", script] + arguments)
            #expect(result.status == 1, "\(arguments): \(result.output)")
            // As non-root the first refusal may be the root check; as root it is the input's.
            if getuid() == 0 { #expect(result.output.contains(message), "\(arguments): \(result.output)") }
        }
    }

    @Test("controller-side checks of bootstrap and prepare-workdir inputs")
    func inputChecks() throws {
        #expect(BootstrapInputs.isPythonName("system"))
        #expect(BootstrapInputs.isPythonName("3.12.8"))
        #expect(BootstrapInputs.isPythonName("pypy3.10-7.3.17"))
        #expect(!BootstrapInputs.isPythonName("3.12;rm"))
        #expect(!BootstrapInputs.isPythonName(""))
        #expect(BootstrapInputs.isVersion("7.2.4"))
        #expect(!BootstrapInputs.isVersion("7.2.4rc1"))
        #expect(PrepareWorkdirCommand.bytes("16M") == 16 << 20)
        #expect(PrepareWorkdirCommand.bytes("8G") == 8 << 30)
        #expect(PrepareWorkdirCommand.bytes("64T") == 64 << 40)
        for bad in ["", "G", "15M", "65T", "1.5G", "-1G", "99999999999999999999T", "8g", "8 G"] {
            #expect(PrepareWorkdirCommand.bytes(bad) == nil, "\(bad)")
        }
        let inputs = BootstrapInputs(authorizedKey: "ssh-ed25519 AAAA k", pythons: "system", hgVersion: nil, src: "pypi")
        #expect(inputs.arguments == ["--authorized-key", "ssh-ed25519 AAAA k", "--pythons", "system", "--src", "pypi"])

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.pub"), two = dir.appendingPathComponent("two.pub")
        try Data("ssh-ed25519 AAAAC3Nza key\n".utf8).write(to: good)
        try Data("ssh-ed25519 AAAA a\nssh-ed25519 AAAA b\n".utf8).write(to: two)
        #expect(try BootstrapInputs.readPublicKey(good.path) == "ssh-ed25519 AAAAC3Nza key")
        #expect(throws: UsageError.self) { try BootstrapInputs.readPublicKey(two.path) }
        #expect(throws: UsageError.self) { try BootstrapInputs.readPublicKey(dir.appendingPathComponent("missing").path) }
    }

    @Test("an unreachable target is exit 255 with the target named, for both commands")
    func unreachableTarget() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let key = harness.scratch.appendingPathComponent("k.pub")
        try Data("ssh-ed25519 AAAAC3Nza test\n".utf8).write(to: key)
        let target = "ssh://nobody@127.0.0.1:1"
        for arguments in [["bootstrap-linux-dev", "--authorized-key", key.path], ["prepare-workdir", "--filesystem", "tmpfs"]] {
            let result = try await harness.run(arguments + ["--target", target, "--ssh-timeout", "2", "--accept-new-host-key"])
            #expect(result.status == 255, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("automation: error: \(target)"), "\(result.stderr)")
        }
    }

    @Test("bootstrap-linux-dev and prepare-workdir reject bad flags with exit 64")
    func usageErrors() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let cases: [[String]] = [
            ["bootstrap-linux-dev"],
            ["bootstrap-linux-dev", "--target", "local", "--pythons", "3.12;x"],
            ["bootstrap-linux-dev", "--target", "local", "--authorized-key", "/nonexistent.pub"],
            ["bootstrap-linux-dev", "--distros", "debian13"],
            ["bootstrap-linux-dev", "--distros", "debian12,debian12"],
            ["bootstrap-linux-dev", "--distros", "debian12", "--target", "local"],
            ["bootstrap-linux-dev", "--distros", "debian12", "--authorized-key", "/tmp/k.pub"],
            ["bootstrap-linux-dev", "--distros", "debian12", "--keep-images", "101"],
            ["bootstrap-linux-dev", "--distros", "debian12", "--root-volume-size", "0"],
            ["prepare-workdir", "--target", "local", "--filesystem", "zfs"],
            ["prepare-workdir", "--target", "local", "--filesystem", "ext4", "--size", "10Q"],
            ["prepare-workdir", "--target", "local", "--filesystem", "ext4", "--mount-point", "relative"],
        ]
        for arguments in cases {
            let result = try await harness.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.isEmpty)
        }
    }
}
