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
}
