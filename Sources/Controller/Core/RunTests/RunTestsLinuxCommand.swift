import ArgumentParser
import Foundation

/// `automation run-tests-linux`: hgautomation's command of that name, with its flags,
/// on `run-tests`: Mercurial's suite from this working copy on fresh EC2 instances
/// launched from the dev image, /hgwork made with --filesystem, sharded over every
/// vCPU, reports brought back, instances terminated whatever happens.
struct RunTestsLinuxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-tests-linux",
        abstract: "Run Mercurial's tests from this working copy on fresh EC2 Linux instances.",
        discussion: """
            hgautomation's run-tests-linux on run-tests: the dev image of --distro (reused by \
            fingerprint, built first when missing), --instances instances of --instance-type, \
            /hgwork made with --filesystem, this working copy synced to /hgwork/src and built \
            once per instance, the suite sharded over every vCPU of every instance with live \
            results, reports and durations brought back, every instance terminated (also on \
            failure and Ctrl-C; --keep keeps them). TEST_FLAGS go to run-tests.py: test names \
            select tests, -j/--jobs N sets the slots per instance, --timeout S the per-test limit, \
            anything else is passed through. Exit codes are run-tests' (0 passed, 1 tests failed, \
            3 lost instances or tests not run, 64 usage, 130 interrupted, 255 infrastructure).
            """
    )

    static let pythonVersions = "system2, system3, 2.7, 3.5 … 3.13, pypy, pypy3.x"

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions
    @OptionGroup var cloud: AWSTargetOptions

    @Option(name: .customLong("python-version"), help: ArgumentHelp("The Python that runs the tests: \(pythonVersions).", valueName: "version"))
    var pythonVersion = "system3"

    @Option(help: "How many instances to shard the suite over (1-256).")
    var instances = 1

    @Flag(name: .customLong("dry-run"), help: "Print the plan (instances, predicted makespan and cost, the instance count that finishes soonest) and launch nothing.")
    var dryRun = false

    @Option(help: "Also write the JUnit XML report here.")
    var junit: String?

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Flags and test names for run-tests.py (after -- when one is also a flag of this command, like -v).", valueName: "test-flags"))
    var testFlags: [String] = []

    mutating func validate() throws {
        if testFlags.first == "--" { testFlags.removeFirst() }
        guard targets.targetTexts.isEmpty else {
            throw ValidationError("run-tests-linux launches its own instances; for hosts you have, use run-tests --runner mercurial --target …")
        }
        guard cloud.image == nil else {
            throw ValidationError("run-tests-linux launches from the dev image; for another image use run-tests --runner mercurial --target aws:N --image …")
        }
        guard (1...256).contains(instances) else { throw ValidationError("--instances takes 1 to 256, got \(instances)") }
        guard Self.pythonPath(pythonVersion) != nil else {
            throw ValidationError("--python-version takes \(Self.pythonVersions); got '\(pythonVersion)'")
        }
        _ = try Self.split(testFlags)
    }

    /// hgautomation's mapping: the system Pythons, else pyenv's shims in the dev image.
    static func pythonPath(_ version: String) -> String? {
        switch version {
        case "system2": return "/usr/bin/python2"
        case "system3": return "/usr/bin/python3"
        default:
            let digitsAndDots = { (text: Substring) in !text.isEmpty && text.count <= 8 && text.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") } }
            if version.hasPrefix("pypy") {
                let rest = version.dropFirst(4)
                return rest.isEmpty || digitsAndDots(rest) ? "/hgdev/pyenv/shims/\(version)" : nil
            }
            let parts = version.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy(digitsAndDots) else { return nil }
            return "/hgdev/pyenv/shims/python\(version)"
        }
    }

    struct SplitFlags: Equatable {
        var runnerArgs: [String] = []
        var selection: [String] = []
        var jobs: Int?
        var timeout: Double?
    }

    /// run-tests.py's flags as run-tests takes them: test names select, -j sets the slots
    /// (run-tests runs one run-tests.py per slot), --timeout is enforced by the controller too.
    static func split(_ flags: [String]) throws -> SplitFlags {
        var out = SplitFlags()
        var index = 0
        func value(_ flag: String) throws -> String {
            index += 1
            guard index < flags.count else { throw ValidationError("\(flag) needs a value") }
            return flags[index]
        }
        while index < flags.count {
            let flag = flags[index]
            var jobs: String?, timeout: String?
            switch flag {
            case "-j", "--jobs": jobs = try value(flag)
            case "--timeout": timeout = try value(flag)
            default:
                if flag.hasPrefix("--jobs=") { jobs = String(flag.dropFirst(7)) }
                else if flag.hasPrefix("-j") && flag.count > 2 && !flag.hasPrefix("--") { jobs = String(flag.dropFirst(2)) }
                else if flag.hasPrefix("--timeout=") { timeout = String(flag.dropFirst(10)) }
                else if !flag.hasPrefix("-") && flag.hasPrefix("test-") { out.selection.append(flag) }
                else { out.runnerArgs.append(flag) }
            }
            if let jobs {
                guard let n = Int(jobs), (1...1024).contains(n) else { throw ValidationError("-j takes 1 to 1024 slots per instance, got '\(jobs)'") }
                out.jobs = n
            }
            if let timeout {
                guard let seconds = Double(timeout) else { throw ValidationError("--timeout takes seconds, got '\(timeout)'") }
                try DurationOption.check(seconds, flag: "--timeout")
                out.timeout = seconds
            }
            index += 1
        }
        return out
    }

    /// The run-tests invocation this stands for.
    func runTests() throws -> RunTestsCommand {
        let flags = try Self.split(testFlags)
        var command = try RunTestsCommand.parse(["--runner", "mercurial", "--target", "aws:\(instances)"])
        command.global = global
        command.targets = targets
        command.targets.targetTexts = ["aws:\(instances)"]
        var cloud = cloud
        cloud.devImage = true
        cloud.filesystem = cloud.filesystem ?? "default"
        command.cloud = cloud
        command.python = Self.pythonPath(pythonVersion)!
        command.runnerArgs = flags.runnerArgs
        command.selection = flags.selection
        command.jobs = flags.jobs
        command.timeout = flags.timeout
        command.dryRun = dryRun
        command.junit = junit
        return command
    }

    func run() async throws {
        let command: RunTestsCommand
        do {
            command = try runTests()
        } catch {
            Self.exit(withError: error)
        }
        try await command.run()
    }
}
