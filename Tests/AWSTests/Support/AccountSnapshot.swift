@testable import AWS
import Foundation

/// Everything visible in a moto account that these tests can create, to compare before and after.
struct AccountSnapshot: Equatable, CustomStringConvertible {
    var liveInstances: Set<String>
    var securityGroups: Set<String>
    var keyPairs: Set<String>
    var images: Set<String>
    var snapshots: Set<String>
    var roles: Set<String>
    var instanceProfiles: Set<String>

    static func take(_ client: AWSClient) async throws -> AccountSnapshot {
        let ec2 = EC2(client: client)
        let iam = IAM(client: client)
        let instances = try await ec2.describeInstances(filters: [EC2Filter("instance-state-name", ["pending", "running", "stopping", "stopped"])])
        let snapshots = try await client.query(.ec2, "DescribeSnapshots", QueryParameters([("Owner.1", "self")])).list("snapshotSet").compactMap { $0.string("snapshotId") }
        return AccountSnapshot(
            liveInstances: Set(instances.map(\.id)),
            securityGroups: Set(try await ec2.describeSecurityGroups().map(\.id)),
            keyPairs: Set(try await ec2.describeKeyPairs().map(\.name)),
            images: Set(try await ec2.describeImages(owners: ["self"]).map(\.id)),
            snapshots: Set(snapshots),
            roles: Set(try await iam.listRoles(pathPrefix: "/").map(\.name)),
            instanceProfiles: Set(try await iam.listInstanceProfiles(pathPrefix: "/").map(\.name)))
    }

    var description: String {
        "instances \(liveInstances.sorted()), groups \(securityGroups.sorted()), keys \(keyPairs.sorted()), images \(images.sorted()), snapshots \(snapshots.sorted()), roles \(roles.sorted()), profiles \(instanceProfiles.sorted())"
    }
}

extension TestClients {
    /// An AWSAutomation for `namespace` against `endpoint`, with state in `stateDirectory` and fast polling.
    static func automation(_ endpoint: String, namespace: String, stateDirectory: URL, metrics: AWSCallMetrics = AWSCallMetrics()) throws -> AWSAutomation {
        let client = AWSClient(region: "us-west-2", credentials: StaticCredentialsProvider(credentials), endpoints: .fixed(endpoint),
                               retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50)), metrics: metrics)
        return AWSAutomation(client: client, ownership: try Ownership(namespace: namespace), state: AWSStateStore(stateDirectory: stateDirectory),
                             waitTimeout: .seconds(60), pollInterval: .milliseconds(200))
    }

    /// AWS's managed policies, and RunInstances refusing a key pair that does not exist, as EC2 does.
    static let motoEnvironment = ["MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "MOTO_ENABLE_KEYPAIR_VALIDATION": "true"]
}
