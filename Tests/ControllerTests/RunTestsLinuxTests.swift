@testable import AutomationKit
import ArgumentParser
import Foundation
import Testing

/// `run-tests-linux`: hgautomation's flags mapped onto run-tests.
@Suite("run-tests-linux flags")
struct RunTestsLinuxTests {
    @Test("--python-version maps as hgautomation's did; anything else is refused")
    func pythonVersions() {
        #expect(RunTestsLinuxCommand.pythonPath("system3") == "/usr/bin/python3")
        #expect(RunTestsLinuxCommand.pythonPath("system2") == "/usr/bin/python2")
        #expect(RunTestsLinuxCommand.pythonPath("3.12") == "/hgdev/pyenv/shims/python3.12")
        #expect(RunTestsLinuxCommand.pythonPath("2.7") == "/hgdev/pyenv/shims/python2.7")
        #expect(RunTestsLinuxCommand.pythonPath("pypy3.6") == "/hgdev/pyenv/shims/pypy3.6")
        #expect(RunTestsLinuxCommand.pythonPath("pypy") == "/hgdev/pyenv/shims/pypy")
        for bad in ["", "3", "3.12.1", "python3", "3.x", "../bin/sh", "pypy;rm", "system", "3.1234567890"] {
            #expect(RunTestsLinuxCommand.pythonPath(bad) == nil, "\(bad)")
        }
    }

    @Test("test flags: names select, -j sets slots, --timeout is the controller's too, the rest passes through in order")
    func splitFlags() throws {
        let split = try RunTestsLinuxCommand.split(["--pure", "-j", "4", "test-a.t", "-k", "keyword", "--timeout=30", "test-b.t#case", "--shell", "/bin/bash"])
        #expect(split.selection == ["test-a.t", "test-b.t#case"])
        #expect(split.runnerArgs == ["--pure", "-k", "keyword", "--shell", "/bin/bash"])
        #expect(split.jobs == 4)
        #expect(split.timeout == 30)
        #expect(try RunTestsLinuxCommand.split(["-j8"]).jobs == 8)
        #expect(try RunTestsLinuxCommand.split(["--jobs=2", "--timeout", "12.5"]) == .init(jobs: 2, timeout: 12.5))
        for bad in [["-j"], ["-j", "0"], ["-j", "1025"], ["--jobs=x"], ["--timeout"], ["--timeout", "nan"], ["--timeout", "-1"], ["--timeout=1e308"]] {
            #expect(throws: ValidationError.self, "\(bad)") { try RunTestsLinuxCommand.split(bad) }
        }
    }

    @Test("the run-tests it stands for: mercurial runner, aws:N, dev image, /hgwork default, the flags in place")
    func mapping() throws {
        let command = try RunTestsLinuxCommand.parse(["--instances", "3", "--filesystem", "xfs", "--python-version", "3.11", "--distro", "debian11",
                                                      "--instance-type", "c5.4xlarge", "--", "-j", "2", "--pure", "test-empty.t"])
        let runTests = try command.runTests()
        #expect(runTests.runner == .mercurial)
        #expect(runTests.targets.targetTexts == ["aws:3"])
        #expect(runTests.cloud.devImage)
        #expect(runTests.cloud.filesystem == "xfs")
        #expect(runTests.cloud.distro == "debian11")
        #expect(runTests.cloud.instanceType == "c5.4xlarge")
        #expect(runTests.python == "/hgdev/pyenv/shims/python3.11")
        #expect(runTests.jobs == 2)
        #expect(runTests.runnerArgs == ["--pure"])
        #expect(runTests.selection == ["test-empty.t"])
        let defaults = try RunTestsLinuxCommand.parse([]).runTests()
        #expect(defaults.cloud.filesystem == "default")
        #expect(defaults.cloud.instanceType == "c5.9xlarge")
        #expect(defaults.python == "/usr/bin/python3")
        #expect(defaults.targets.targetTexts == ["aws:1"])
    }

    @Test("refused before anything is launched", arguments: [
        ["--instances", "0"], ["--instances", "257"], ["--python-version", "4"], ["--filesystem", "zfs"],
        ["--target", "ssh://h"], ["--distro", "windows"], ["--", "-j", "0"], ["--image", "ami-1"],
    ])
    func refused(_ arguments: [String]) {
        #expect(throws: (any Error).self, "\(arguments)") { try RunTestsLinuxCommand.parse(arguments) }
    }

    /// A Mercurial-like working copy: `.hg`, and a run-tests.py that lists two tests.
    static func workingCopy(in harness: RunTestsHarness) throws -> URL {
        let copy = harness.scratch.appendingPathComponent("hg")
        for dir in [".hg", "tests", "contrib/packaging"] {
            try FileManager.default.createDirectory(at: copy.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
        try Data("import sys\nprint('test-a.t')\nprint('test-b.t')\n".utf8).write(to: copy.appendingPathComponent("tests/run-tests.py"))
        for test in ["test-a.t", "test-b.t"] { try Data("  $ true\n".utf8).write(to: copy.appendingPathComponent("tests/\(test)")) }
        return copy
    }

    /// No AWS credentials anywhere: a run that got as far as the account fails there.
    static func noCredentials(_ harness: RunTestsHarness, path: String) -> [String: String] {
        let none = harness.scratch.appendingPathComponent("no-such-file").path
        return ["PATH": path, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
                "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "us-west-2"]
    }

    @Test("local preconditions (hg on PATH, run-tests.py, the named tests) are refused with exit 64 before the account is asked",
          arguments: ["no hg", "no run-tests.py", "no such test"])
    func preconditionsBeforeLaunch(_ missing: String) async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let copy = try Self.workingCopy(in: harness)
        // An hg that is found (the check is that one is there; nothing runs it before the sync).
        let bin = harness.scratch.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        if missing != "no hg" {
            try Data("#!/bin/sh\nexit 0\n".utf8).write(to: bin.appendingPathComponent("hg"))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin.appendingPathComponent("hg").path)
        }
        if missing == "no run-tests.py" { try FileManager.default.removeItem(at: copy.appendingPathComponent("tests/run-tests.py")) }
        let names = missing == "no such test" ? ["test-a.t", "test-nope.t#case"] : ["test-a.t"]
        let outcome = try await harness.run(["run-tests-linux", "--ssh-cidr", "127.0.0.1/32"] + names,
                                            env: Self.noCredentials(harness, path: bin.path), cwd: copy.appendingPathComponent("contrib"))
        let context = "status \(outcome.status)\nstderr:\n\(outcome.stderr)"
        #expect(outcome.status == 64, "\(context)")
        switch missing {
        case "no hg": #expect(outcome.stderr.contains("hg is not on PATH") && outcome.stderr.contains(copy.path), "\(context)")
        case "no run-tests.py": #expect(outcome.stderr.contains("\(copy.path)/tests/run-tests.py does not exist"), "\(context)")
        default: #expect(outcome.stderr.contains("no such test in \(copy.path)/tests: test-nope.t#case"), "\(context)")
        }
        #expect(!outcome.stderr.lowercased().contains("credential"), "refused before credentials were looked for: \(context)")
        #expect(!FileManager.default.fileExists(atPath: harness.state.appendingPathComponent("aws").path), "no AWS state written: \(context)")
    }

    @Test("from a subdirectory of the working copy the root is found (as hg finds it): --dry-run lists its tests")
    func rootFromSubdirectory() async throws {
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let copy = try Self.workingCopy(in: harness)
        let bin = harness.scratch.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try Data("#!/bin/sh\nexit 0\n".utf8).write(to: bin.appendingPathComponent("hg"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin.appendingPathComponent("hg").path)
        let path = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let outcome = try await harness.run(["run-tests-linux", "--dry-run", "--instances", "2"],
                                            env: Self.noCredentials(harness, path: path), cwd: copy.appendingPathComponent("contrib/packaging"))
        let context = "status \(outcome.status)\nstdout:\n\(outcome.stdout)\nstderr:\n\(outcome.stderr)"
        #expect(outcome.status == 0, "\(context)")
        #expect(outcome.stderr.contains("working copy \(copy.path) (hg)"), "\(context)")
        #expect(outcome.stdout.contains("plan: 2 tests, runner mercurial"), "\(context)")
    }
}
