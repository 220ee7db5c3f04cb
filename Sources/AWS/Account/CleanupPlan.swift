/// Exactly what a cleanup command will delete; `--dry-run` prints it and stops.
public struct CleanupPlan: Sendable {
    public var instances: [EC2Instance] = []
    public var images: [EC2Image] = []
    public var snapshots: [String] = []
    public var keyPairs: [String] = []
    public var securityGroups: [EC2SecurityGroup] = []
    public var instanceProfiles: [IAM.InstanceProfile] = []
    public var roles: [IAM.Role] = []
    /// Launch templates of `--spot` launches that were interrupted before deleting theirs.
    public var launchTemplates: [EC2LaunchTemplate] = []

    public var isEmpty: Bool {
        instances.isEmpty && images.isEmpty && snapshots.isEmpty && keyPairs.isEmpty && securityGroups.isEmpty
            && instanceProfiles.isEmpty && roles.isEmpty && launchTemplates.isEmpty
    }

    /// One line per resource: `<kind> <id> <detail>`.
    public var lines: [String] {
        instances.map { "instance \($0.id) \($0.state) \($0.tag("Name") ?? "")" }
            + launchTemplates.map { "launch-template \($0.id) \($0.name)" }
            + images.map { "image \($0.id) \($0.name)" }
            + snapshots.map { "snapshot \($0)" }
            + keyPairs.map { "key-pair \($0)" }
            + securityGroups.map { "security-group \($0.id) \($0.name)" }
            + instanceProfiles.map { "instance-profile \($0.name)" }
            + roles.map { "iam-role \($0.name)" }
    }
}
