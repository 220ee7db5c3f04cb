import Foundation

/// Account-level resources of one namespace in one region, as last verified.
public struct AccountRecord: Codable, Sendable, Equatable {
    public var keyPairName: String
    public var securityGroupId: String
    public var securityGroupName: String
    public var sshCidrs: [String]
    public var roleName: String?
    public var instanceProfileName: String?
    public var verifiedAt: Date
}

/// Everything one run created, written before and after each create call so cleanup works without tags.
public struct RunRecord: Codable, Sendable, Equatable {
    public struct Instance: Codable, Sendable, Equatable {
        public var id: String
        public var launchIndex: Int
        public var publicIp: String?
        public var privateIp: String?
        /// The pinned host key (`ssh-ed25519 AAAA…`).
        public var hostPublicKey: String
        public var hostKeyFingerprint: String
        /// What was launched, when a fleet chose among several types (`--spot`); nil in older records.
        public var instanceType: String?
        /// `spot` or `on-demand` for fleet launches; nil for RunInstances (on-demand).
        public var lifecycle: String?
        public var availabilityZone: String?
        /// The spot price in effect at launch, US dollars per hour; nil when on-demand or unknown.
        public var spotPrice: Double?
    }

    public var runId: String
    public var namespace: String
    public var region: String
    public var createdAt: Date
    public var expiresAt: Date?
    /// Idempotency tokens of RunInstances calls: instances of a call whose answer was lost are found through them.
    public var clientTokens: [String]
    public var instances: [Instance]
    public var images: [String]
    public var snapshots: [String]
    /// Public keys per launch index, kept until the instances are known.
    public var pendingHostKeys: [String]
    /// Names of launch templates this run created and has not deleted yet (`--spot` launches
    /// delete theirs as soon as the fleet answered); nil in records written before `--spot`.
    public var launchTemplates: [String]?

    public init(runId: String, namespace: String, region: String, createdAt: Date = Date(), expiresAt: Date? = nil) {
        self.runId = runId
        self.namespace = namespace
        self.region = region
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        clientTokens = []
        instances = []
        images = []
        snapshots = []
        pendingHostKeys = []
    }

    /// A short, sortable, unique run id: UTC time plus random hex.
    public static func newRunId(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss"
        return formatter.string(from: now) + "-" + String(format: "%06x", UInt32.random(in: 0..<0x1000000))
    }
}
