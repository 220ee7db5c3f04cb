import Foundation
import Logging

/// The account side of the tool for one namespace in one region: clients, ownership and local records.
public struct AWSAutomation: Sendable {
    public let client: AWSClient
    public let ownership: Ownership
    public let state: AWSStateStore
    public let logger: Logger
    /// Bound on every wait (instances running/terminated, images, dependency retries).
    public var waitTimeout: Duration
    /// Polling interval of waits.
    public var pollInterval: Duration
    /// How long a verified account record is trusted without asking AWS again.
    public var accountRecordTTL: TimeInterval
    /// Whether launched instances get the namespace's IAM instance profile (for SSM).
    public var useInstanceProfile: Bool
    /// Shared by copies of this value, so that concurrent launches re-check a stale account once.
    let accountRecheck = AccountRecheck()

    public init(client: AWSClient, ownership: Ownership, state: AWSStateStore, logger: Logger = Logger(label: "automation.aws"),
                waitTimeout: Duration = .seconds(600), pollInterval: Duration = .seconds(2), accountRecordTTL: TimeInterval = 24 * 3600,
                useInstanceProfile: Bool = true) {
        self.client = client
        self.ownership = ownership
        self.state = state
        self.logger = logger
        self.waitTimeout = waitTimeout
        self.pollInterval = pollInterval
        self.accountRecordTTL = accountRecordTTL
        self.useInstanceProfile = useInstanceProfile
    }

    public var ec2: EC2 { EC2(client: client) }
    public var iam: IAM { IAM(client: client) }
    public var ssm: SSM { SSM(client: client) }
    public var sts: STS { STS(client: client) }
    public var region: String { client.region }

    /// The namespace given, or one derived from the caller's identity (one STS call).
    public static func resolveNamespace(_ explicit: String?, client: AWSClient) async throws -> String {
        if let explicit { return explicit }
        let identity = try await STS(client: client).getCallerIdentity()
        return Ownership.namespace(fromArn: identity.arn)
    }
}
