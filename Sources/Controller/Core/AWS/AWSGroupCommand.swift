import ArgumentParser

/// `automation aws …`: the account side of the EC2 target.
struct AWSGroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aws",
        abstract: "Inspect the AWS account, launch tagged self-terminating instances, and collect expired ones.",
        subcommands: [AWSWhoamiCommand.self, AWSLaunchCommand.self, AWSGCCommand.self]
    )
}
