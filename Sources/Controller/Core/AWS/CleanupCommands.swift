import AWS
import ArgumentParser
import Foundation

/// Prints a plan, one resource per line, on stdout.
func printPlan(_ plan: CleanupPlan, dryRun: Bool, verb: String) {
    for line in plan.lines {
        // Launch templates (left by interrupted --spot launches) are deleted, not terminated.
        let lineVerb = line.hasPrefix("launch-template ") ? "delete" : verb
        print((dryRun ? "would \(lineVerb) " : "\(lineVerb) ") + line)
    }
    if plan.isEmpty { FileHandle.standardError.write(Data("automation: nothing to \(verb)\n".utf8)) }
}

/// `automation terminate-ec2-instances`: terminate this namespace's instances.
struct TerminateEC2InstancesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "terminate-ec2-instances",
        abstract: "Terminate every instance of this namespace (found by tag and by local run records), wait until they are gone, and delete launch templates interrupted --spot launches left."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var aws: AWSCommandOptions

    @Flag(name: .customLong("dry-run"), help: "List what would be terminated and change nothing.")
    var dryRun = false

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let automation = try await aws.automation(global: global, logger: logger)
            printPlan(try await automation.terminateInstances(dryRun: dryRun), dryRun: dryRun, verb: "terminate")
            return 0
        }
    }
}

/// `automation purge-ec2-resources`: remove everything this namespace created.
struct PurgeEC2ResourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge-ec2-resources",
        abstract: "Delete this namespace's instances, launch templates, images, snapshots, key pairs, security groups, instance profiles and roles."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var aws: AWSCommandOptions

    @Flag(name: .customLong("dry-run"), help: "List what would be deleted and change nothing.")
    var dryRun = false

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let automation = try await aws.automation(global: global, logger: logger)
            printPlan(try await automation.purge(dryRun: dryRun), dryRun: dryRun, verb: "delete")
            return 0
        }
    }
}

/// `automation aws gc`: terminate instances past their expiry.
struct AWSGCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Terminate this namespace's instances (and delete its launch templates) whose expiry time has passed."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var aws: AWSCommandOptions

    @Flag(name: .customLong("dry-run"), help: "List what would be terminated and change nothing.")
    var dryRun = false

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let automation = try await aws.automation(global: global, logger: logger)
            printPlan(try await automation.terminateInstances(dryRun: dryRun, expiredOnly: true), dryRun: dryRun, verb: "terminate")
            return 0
        }
    }
}
