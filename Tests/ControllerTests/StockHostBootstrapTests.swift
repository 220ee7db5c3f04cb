import Foundation
import Testing
import TestSupport

/// The whole path on "a stock machine": bootstrap-linux-dev over SSH as a
/// sudo user, a second idempotent run, prepare-workdir through sudo, then
/// Mercurial's own tests run as user hg with run-tests.
@Suite("bootstrap-linux-dev on a fresh Debian 12", .serialized)
struct StockHostBootstrapTests {
    @Test("bootstrap, bootstrap again (nothing changes), prepare-workdir, then Mercurial tests as hg",
          .requires(StockHostFixture.requirement),
          .timeLimit(.minutes(45)))
    func bootstrapThenRunTests() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let host = try StockHostFixture(directory: harness.scratch.appendingPathComponent("stockhost"))
        defer { host.stop() }
        let ssh = try host.sshFlags()
        // The agent uploaded to this host is the one the tests run; its home is the overlay's.
        let bootstrap = ["bootstrap-linux-dev", "--target", host.target(user: "admin"), "--authorized-key", host.publicKey,
                         "--pythons", "system", "--src", "pypi"] + ssh

        let first = try await harness.start(bootstrap).wait(hangGuard: 2400)
        #expect(first.status == 0, "first bootstrap:\nstdout: \(first.stdout.suffix(4000))\nstderr: \(first.stderr.suffix(4000))")
        #expect(first.stdout.contains("bootstrap: packages: installing"))
        #expect(first.stdout.contains("bootstrap: user hg: created"))
        #expect(first.stdout.split(separator: "\n").last?.hasPrefix(host.target(user: "admin") + "\tready\t") == true, "\(first.stdout.suffix(300))")
        try #require(first.status == 0)

        let second = try await harness.start(bootstrap).wait(hangGuard: 600)
        #expect(second.status == 0, "second bootstrap: \(second.stdout.suffix(2000)) \(second.stderr.suffix(2000))")
        let steps = second.stdout.split(separator: "\n").filter { $0.hasPrefix("bootstrap: ") }
        #expect(steps.count >= 15, "\(steps)")
        for step in steps where !step.hasPrefix("bootstrap: distribution: ") && step != "bootstrap: done" {
            #expect(step.contains(": ok"), "the second run changed something: \(step)")
        }

        // The interface: hg has passwordless sudo, bash, /hgdev owned by hg, the bootstrap hg, a source repository.
        let hgTarget = host.target(user: "hg")
        let check = try await harness.run(["exec", "--target", hgTarget] + ssh + ["--", "/bin/bash", "-c",
            "sudo -n true && stat -c %U:%G /hgdev /hgdev/src && /hgdev/venv-bootstrap/bin/hg version -T '{ver}\\n' && /hgdev/venv-bootstrap/bin/hg -R /hgdev/src log -r . -T '{desc}\\n' && getent passwd hg | cut -d: -f7"])
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        #expect(check.stdout == "hg:hg\nhg:hg\n7.2.4\nMercurial 7.2.4 from PyPI\n/bin/bash\n", "\(check.stdout)")

        // /hgwork inside the stock host's own mount namespace, through sudo on the agent.
        let workdir = try await harness.run(["prepare-workdir", "--target", hgTarget, "--filesystem", "tmpfs", "--size", "256M"] + ssh)
        #expect(workdir.status == 0, "\(workdir.stdout) \(workdir.stderr)")
        let again = try await harness.run(["prepare-workdir", "--target", hgTarget, "--filesystem", "tmpfs", "--size", "256M"] + ssh)
        #expect(again.stdout.contains("/hgwork: ok (already tmpfs)"), "\(again.stdout) \(again.stderr)")
        let owned = try await harness.run(["exec", "--target", hgTarget] + ssh + ["--", "stat", "-c", "%U %F", "/hgwork/tmp"])
        #expect(owned.stdout == "hg directory\n", "\(owned.stdout) \(owned.stderr)")

        // Mercurial's tests, as hg, in the bootstrapped /hgdev/src.
        let run = try await harness.start(["run-tests", "--target", host.target(user: "hg", slots: 2), "--runner", "mercurial",
                                           "--workdir", "/hgdev/src", "--python", "/usr/bin/python3"] + ssh
                                          + ["--", "test-empty.t", "test-abort-checkin.t", "test-bad-pull.t"]).wait(hangGuard: 1800)
        #expect(run.status == 0, "run-tests:\nstdout: \(run.stdout.suffix(4000))\nstderr: \(run.stderr.suffix(4000))")
        let summary = String(run.stdout.split(separator: "\n").last ?? "")
        #expect(summary.hasSuffix(" passed, 0 failed, 0 skipped") && (Int(summary.prefix { $0.isNumber }) ?? 0) >= 3, "\(run.stdout.suffix(1000))")
    }
}
