import ArgumentParser
import Glibc

/// The `automation` command line.
public struct Automation: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "automation",
        abstract: "Run a project's build and test work on this machine, your SSH hosts, or fresh EC2 instances.",
        discussion: """
            Targets: local (this machine), local:N (N slots here), ssh://[user@]host[:port].
            Exit codes: a command's own status for exec; 1 tests failed; 64 usage error; \
            130 interrupted; 255 the tool's own failure (unreachable host, lost connection, cloud error).
            """,
        version: "automation \(AutomationVersion.current)",
        subcommands: [
            ExecCommand.self,
            PingCommand.self,
            RunTestsCommand.self,
            AWSGroupCommand.self, TerminateEC2InstancesCommand.self, PurgeEC2ResourcesCommand.self,
            PutCommand.self, GetCommand.self, CheckTargetCommand.self, SSHBenchCommand.self,
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
        await Automation.main()
    }
}
