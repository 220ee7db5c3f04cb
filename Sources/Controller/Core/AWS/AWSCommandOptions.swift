import AWS
import ArgumentParser
import Foundation
import Logging

/// Options shared by every command that talks to AWS.
struct AWSCommandOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("aws-profile"), help: "Profile from ~/.aws/config and ~/.aws/credentials (default: $AWS_PROFILE or default).")
    var profile: String?

    @Option(name: .customLong("aws-region"), help: "Region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region, or us-west-2).")
    var region: String?

    @Option(name: .customLong("aws-endpoint-url"), help: "Send every AWS call to this URL (e.g. a moto server); also $AWS_ENDPOINT_URL[_EC2|_IAM|_STS|_SSM].")
    var endpointURL: String?

    @Option(help: "Owner namespace of the resources to create and clean up (default: derived from the caller identity).")
    var namespace: String?

    @Option(help: "Name prefix of created resources.")
    var prefix = "hg-"

    @Option(name: .customLong("wait-timeout"), parsing: .unconditional, help: "Longest wait for instances, images and deletions, e.g. 10m or 600s.")
    var waitTimeout = "10m"

    mutating func validate() throws {
        _ = try DurationParser.parse(waitTimeout, flag: "--wait-timeout")
        if let namespace, !Ownership.isValidNamespace(namespace) {
            throw ValidationError("invalid --namespace \"\(namespace)\": use 1-32 characters a-z, 0-9 and -")
        }
    }

    /// Settings resolved from flags, the environment and the shared AWS files.
    func settings() throws -> AWSSettings {
        try AWSSettings.resolve(options: AWSOptions(profile: profile, region: region, endpointURL: endpointURL), environment: .current)
    }

    /// A ready ``AWSAutomation`` for this namespace (without --namespace, one STS call per
    /// access key and day: the answer is kept in the state directory).
    func automation(global: GlobalOptions, logger: Logger, metrics: AWSCallMetrics = AWSCallMetrics()) async throws -> AWSAutomation {
        let client = try settings().makeClient(metrics: metrics)
        let state = AWSStateStore(stateDirectory: URL(fileURLWithPath: try global.state.directory("")))
        let ns = try await AWSAutomation.resolveNamespace(namespace, client: client, cache: IdentityCache(state: state))
        return AWSAutomation(client: client, ownership: try Ownership(namespace: ns, prefix: prefix), state: state, logger: logger,
                             waitTimeout: try DurationParser.parse(waitTimeout, flag: "--wait-timeout"))
    }
}


/// Parses durations like `90s`, `30m`, `4h`, `1h30m` or a bare number of seconds.
enum DurationParser {
    /// The longest duration any flag takes: instance lifetimes and waits beyond a year are typos.
    static let maximumSeconds = 366 * 86400

    static func parse(_ text: String, flag: String) throws -> Duration {
        let unparsable = ValidationError("\(flag): cannot parse \"\(text)\"; use e.g. 90s, 30m, 4h or 1h30m")
        let tooLong = ValidationError("\(flag): \"\(text)\" is longer than the limit of 366 days")
        if text.hasPrefix("-") { throw DurationOption.negative(flag: flag, got: "\"\(text)\"", expected: "a duration such as 90s, 30m, 4h or 1h30m") }
        if let seconds = Int(text) {
            guard seconds > 0 else { throw unparsable }
            guard seconds <= maximumSeconds else { throw tooLong }
            return .seconds(seconds)
        }
        var total = 0
        var number = ""
        for ch in text {
            if ch.isASCII && ch.isNumber { number.append(ch); continue }
            // Int("") is nil, and so is a number too long for Int: both are refused, never wrapped.
            guard let n = Int(number) else { throw number.isEmpty ? unparsable : tooLong }
            let unit = switch ch {
            case "s": 1
            case "m": 60
            case "h": 3600
            case "d": 86400
            default: throw ValidationError("\(flag): unknown unit \"\(ch)\" in \"\(text)\"; use s, m, h or d")
            }
            guard n <= maximumSeconds / unit else { throw tooLong }
            total += n * unit
            guard total <= maximumSeconds else { throw tooLong }
            number = ""
        }
        guard number.isEmpty, total > 0 else { throw unparsable }
        return .seconds(total)
    }
}
