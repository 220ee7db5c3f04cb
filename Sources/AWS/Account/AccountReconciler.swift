import Foundation

/// The account-level resources an instance launch needs.
public struct AccountResources: Sendable, Equatable {
    public let keyPairName: String
    public let securityGroupId: String
    public let instanceProfileName: String?
    /// When these were last checked against the account.
    public var verifiedAt = Date()
    /// True when they come from the local record without an API call: a "not found" for one of
    /// them then means the record is stale, not that a just-created resource is still propagating.
    public var fromCache = false
}

extension AWSAutomation {
    static let ssmPolicyArn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    static let trustPolicy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    /// Makes sure this namespace's key pair, security group (SSH from `sshCidr` only) and IAM
    /// instance profile exist. A recently verified local record is trusted without any API call;
    /// otherwise each resource is looked up by its exact name and created when missing. Nothing
    /// of another namespace is read or changed, and nothing is deleted.
    public func ensureAccount(sshCidr: String, forceVerify: Bool = false) async throws -> AccountResources {
        let key = try state.clientKey(namespace: ownership.namespace)
        let keyName = ownership.keyPairName(fingerprintHex: Digest.hex(Digest.sha256(key.publicKeyBlob)))
        if !forceVerify, let record = state.loadAccount(region: region, namespace: ownership.namespace),
           record.keyPairName == keyName, record.sshCidrs.contains(sshCidr), record.instanceProfileName != nil || !useInstanceProfile,
           Date().timeIntervalSince(record.verifiedAt) < accountRecordTTL {
            logger.debug("aws.account.cached", metadata: ["aws.namespace": "\(ownership.namespace)"])
            return AccountResources(keyPairName: record.keyPairName, securityGroupId: record.securityGroupId,
                                    instanceProfileName: useInstanceProfile ? record.instanceProfileName : nil,
                                    verifiedAt: record.verifiedAt, fromCache: true)
        }
        let tags = ownership.tags(name: keyName)
        if try await ec2.describeKeyPairs(filters: [EC2Filter("key-name", keyName)]).isEmpty {
            logger.info("aws.account.import-key", metadata: ["aws.key": "\(keyName)"])
            _ = try await ec2.importKeyPair(name: keyName, publicKey: key.openSSHPublicKey(), tags: tags)
        }
        let group = try await ensureSecurityGroup(sshCidr: sshCidr)
        let profile = useInstanceProfile ? try await ensureInstanceProfile() : nil
        let previous = state.loadAccount(region: region, namespace: ownership.namespace)
        let record = AccountRecord(keyPairName: keyName, securityGroupId: group.id, securityGroupName: group.name,
                                   sshCidrs: Array(Set(group.sshCidrs + [sshCidr])).sorted(), roleName: profile == nil ? previous?.roleName : ownership.roleName,
                                   instanceProfileName: profile ?? previous?.instanceProfileName, verifiedAt: Date())
        try state.saveAccount(record, region: region, namespace: ownership.namespace)
        return AccountResources(keyPairName: keyName, securityGroupId: group.id, instanceProfileName: profile, verifiedAt: record.verifiedAt)
    }

    /// Checks the account again after a launch was refused for a resource the record vouched
    /// for (`stale`): the record is dropped and every missing resource is created again.
    /// Concurrent launches of one run share one re-check, and a launch whose stale resources
    /// were already re-checked by another since it read the record reuses that check.
    func recheckAccount(sshCidr: String, stale: AccountResources, cause: AWSError) async throws -> AccountResources {
        try await accountRecheck.run { [self] in
            if let record = state.loadAccount(region: region, namespace: ownership.namespace), record.verifiedAt > stale.verifiedAt {
                var fresh = try await ensureAccount(sshCidr: sshCidr)
                fresh.fromCache = false
                return fresh
            }
            logger.info("aws.account.stale", metadata: ["aws.namespace": "\(ownership.namespace)", "aws.error": "\(cause.code)",
                                                        "aws.message": "\(cause.message)"])
            return try await ensureAccount(sshCidr: sshCidr, forceVerify: true)
        }
    }

    func ensureSecurityGroup(sshCidr: String) async throws -> EC2SecurityGroup {
        let name = ownership.securityGroupName
        let found = try await ec2.describeSecurityGroups(filters: [EC2Filter("group-name", name)] + ownership.filters)
        var group: EC2SecurityGroup
        if let existing = found.first {
            group = existing
        } else {
            logger.info("aws.account.create-security-group", metadata: ["aws.group": "\(name)"])
            let id = try await ec2.createSecurityGroup(name: name, description: "hg-automation Linux instances of namespace \(ownership.namespace)",
                                                       tags: ownership.tags(name: name))
            group = try await ec2.describeSecurityGroups(ids: [id]).first ?? {
                throw AutomationAWSError("security group \(id) was created but cannot be described")
            }()
        }
        if !group.sshCidrs.contains(sshCidr) {
            try await ec2.authorizeSSH(groupId: group.id, cidr: sshCidr, description: "SSH for hg-automation \(ownership.namespace)")
            group.sshCidrs.append(sshCidr)
        }
        return group
    }

    func ensureInstanceProfile() async throws -> String {
        let profileName = ownership.instanceProfileName
        let roleName = ownership.roleName
        let iamTags = ownership.tags(name: roleName)
        let profile = try await iam.getInstanceProfile(name: profileName)
        if let profile, profile.roleNames.contains(roleName) { return profileName }
        if try await iam.getRole(name: roleName) == nil {
            logger.info("aws.account.create-role", metadata: ["aws.role": "\(roleName)"])
            _ = try await iam.createRole(name: roleName, path: ownership.iamPath, trustPolicy: Self.trustPolicy,
                                         description: "hg-automation temporary EC2 instances (\(ownership.namespace))", tags: iamTags)
            try await iam.attachRolePolicy(role: roleName, policyArn: Self.ssmPolicyArn)
        }
        if profile == nil {
            _ = try await iam.createInstanceProfile(name: profileName, path: ownership.iamPath, tags: ownership.tags(name: profileName))
        }
        try await iam.addRoleToInstanceProfile(profile: profileName, role: roleName)
        return profileName
    }

    /// Errors from RunInstances that mean the account record is stale: a key pair, security
    /// group or instance profile it names is gone. AWS reports a missing profile as
    /// InvalidParameterValue, moto (and IAM itself) as NoSuchEntity.
    static func isStaleAccountError(_ error: AWSError) -> Bool {
        ["InvalidKeyPair.NotFound", "InvalidGroup.NotFound", "InvalidGroupId.Malformed", "NoSuchEntity"].contains(error.code)
            || isProfileNotReady(error)
    }

    /// A RunInstances or fleet error naming the instance profile, which a just-created profile
    /// gives for some seconds until it reaches EC2.
    static func isProfileNotReady(_ error: AWSError) -> Bool {
        error.code == "InvalidParameterValue" && error.message.lowercased().contains("iaminstanceprofile")
    }
}

/// Runs one account re-check at a time; callers that arrive while one runs share its result.
actor AccountRecheck {
    private var running: Task<AccountResources, Error>?

    func run(_ body: @escaping @Sendable () async throws -> AccountResources) async throws -> AccountResources {
        if let running { return try await running.value }
        let task = Task { try await body() }
        running = task
        defer { running = nil }
        return try await task.value
    }
}
