import ArgumentParser
import Glibc
import SSH

/// The `automation` command line.
public struct Automation: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "automation",
        abstract: "Run a project's build and test work on this machine, your SSH hosts, or fresh EC2 instances.",
        discussion: """
            Targets: local (this machine), local:N (N slots here), ssh://[user@]host[:port][/N], \
            aws:N[:TYPE] (N fresh EC2 instances for one run-tests run, terminated however it ends).
            Exit codes: a command's own status for exec; 1 tests failed (check-target: checks failed); \
            3 run-tests ran on fewer targets than asked or some tests never ran; \
            4 the target refused the operation (file not found, permission denied); \
            5 run-tests setup error (the test command could not start: not found, not executable); 64 usage error; \
            75 sync: run it again (a source file kept changing, or another sync held DEST too long); \
            130 interrupted; 255 the tool's own failure (unreachable host, lost connection, cloud error).
            --state-path and --aws-region may also come before the command name, as in \
            `automation --aws-region us-east-1 --state-path ~/ci-state aws launch`.
            """,
        version: "automation \(AutomationVersion.current)",
        subcommands: [
            ExecCommand.self,
            PingCommand.self,
            RunTestsCommand.self, RunTestsLinuxCommand.self,
            AWSGroupCommand.self, TerminateEC2InstancesCommand.self, PurgeEC2ResourcesCommand.self,
            PutCommand.self, GetCommand.self, CheckTargetCommand.self, SSHBenchCommand.self,
            AgentsCommand.self,
            SyncCommand.self,
            BootstrapLinuxDevCommand.self, PrepareWorkdirCommand.self,
        ]
    )

    public init() {}
}

/// Entry point for the `automation` executable.
public enum AutomationMain {
    public static func run() async {
        // Every peer (agent pipe, socket, SSH channel) reports a broken stream as an error.
        signal(SIGPIPE, SIG_IGN)
        LibSSH2.initialize()
        let arguments: [String]
        do {
            let leading = try LeadingGlobalOptions.extract(Array(CommandLine.arguments.dropFirst()))
            for (name, value) in leading.environment { setenv(name, value, 1) }
            arguments = leading.arguments
        } catch {
            CommandRunner.report("\(error)")
            exit(ExitCodes.usage)
        }
        await Automation.main(arguments)
    }
}
