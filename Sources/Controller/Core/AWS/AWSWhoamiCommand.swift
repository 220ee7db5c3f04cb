import AWS
import ArgumentParser
import Foundation

/// `automation aws whoami`: which account, identity, region and namespace commands would use.
struct AWSWhoamiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Show the AWS identity, region and owner namespace in use.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var aws: AWSCommandOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let settings = try aws.settings()
            let client = settings.makeClient()
            let identity = try await STS(client: client).getCallerIdentity()
            let credentials = try await client.credentials.credentials()
            let namespace = aws.namespace ?? Ownership.namespace(fromArn: identity.arn)
            let fields: [(String, String)] = [
                ("account", identity.account), ("arn", identity.arn), ("userId", identity.userId),
                ("region", settings.region), ("regionSource", settings.regionSource), ("namespace", namespace),
                ("credentials", credentials.source), ("accessKeyId", credentials.accessKeyId),
            ]
            if json {
                let object = Dictionary(uniqueKeysWithValues: fields)
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for (k, v) in fields { print("\(k): \(v)") }
            }
            return 0
        }
    }
}
