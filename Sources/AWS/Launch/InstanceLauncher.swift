import Foundation

/// What `launch` asks for.
public struct LaunchRequest: Sendable {
    public var count: Int
    public var instanceType: String
    /// An AMI id; when nil, `distro` is resolved.
    public var imageId: String?
    public var distro: Distro
    public var ttl: Duration
    public var sshCidr: String
    public var rootVolumeSize: Int?
    /// An extra empty volume in GiB for /hgwork (`prepare-workdir`); nil for none.
    public var workdirVolumeSize: Int?
    /// The run id to record and tag with; nil for a new one. A caller that must clean up
    /// after an interrupted launch picks it first (``RunRecord/newRunId()``).
    public var runId: String?
    public var waitUntilRunning: Bool
    /// Launch through EC2 Fleet, spot first, among these types; nil for one RunInstances per 16 instances.
    public var spot: SpotLaunch?

    public init(count: Int = 1, instanceType: String = "c5.9xlarge", imageId: String? = nil, distro: Distro = Distro.all[0],
                ttl: Duration = .seconds(4 * 3600), sshCidr: String, rootVolumeSize: Int? = nil, waitUntilRunning: Bool = true,
                runId: String? = nil) {
        self.count = count
        self.instanceType = instanceType
        self.imageId = imageId
        self.distro = distro
        self.ttl = ttl
        self.sshCidr = sshCidr
        self.rootVolumeSize = rootVolumeSize
        self.waitUntilRunning = waitUntilRunning
        self.runId = runId
    }
}

/// The outcome of a launch: the run record, whose instances carry addresses and pinned host keys.
public struct LaunchResult: Sendable {
    public let run: RunRecord
    public let account: AccountResources
    /// With `--spot`: what the fleets reported for the capacity or types they could not give.
    public var fleetErrors: [FleetResult.Failure] = []
}

extension AWSAutomation {
    /// Launches tagged, self-terminating instances in as few RunInstances calls as possible
    /// (one per 16 instances, the user data limit), recording each call before and after it.
    public func launch(_ request: LaunchRequest) async throws -> LaunchResult {
        guard request.count >= 1 else { throw AutomationAWSError("--count must be at least 1") }
        var account = try await ensureAccount(sshCidr: request.sshCidr)
        let imageId = if let id = request.imageId { id } else { try await resolveImage(distro: request.distro) }
        // A root volume size applies to the image's own root device: /dev/xvda on Debian, /dev/sda1 on Ubuntu.
        let rootDeviceName = request.rootVolumeSize == nil ? nil : try await rootDeviceName(of: imageId)
        let runId = request.runId ?? RunRecord.newRunId()
        let ttlSeconds = Double(request.ttl.components.seconds)
        let expiresAt = Date().addingTimeInterval(ttlSeconds)
        var record = RunRecord(runId: runId, namespace: ownership.namespace, region: region, expiresAt: expiresAt)
        var launched: [String] = []
        var fleetErrors: [FleetResult.Failure] = []
        if let spot = request.spot {
            guard LaunchTemplateRequest.isValidName(ownership.launchTemplateName(runId: runId)) else {
                throw AutomationAWSError("\(ownership.launchTemplateName(runId: runId)) is not a valid launch template name; use a --prefix of letters, digits and -")
            }
            (launched, fleetErrors) = try await launchFleet(request, spot: spot, account: &account, imageId: imageId, rootDeviceName: rootDeviceName,
                                             expiresAt: expiresAt, record: &record)
        }
        var remaining = request.spot == nil ? request.count : 0
        var batch = 0
        while remaining > 0 {
            let size = min(remaining, UserData.maxHostKeys)
            let keys = try (0..<size).map { _ in try Ed25519KeyPair.generate() }
            let token = "\(runId)-\(batch)"
            record.clientTokens.append(token)
            record.pendingHostKeys += keys.map { $0.openSSHPublicKey() }
            try state.saveRun(record)
            var run = RunInstancesRequest(imageId: imageId, instanceType: request.instanceType, count: size, keyName: account.keyPairName,
                                          securityGroupIds: [account.securityGroupId], instanceProfileName: account.instanceProfileName,
                                          userData: try UserData.render(hostKeys: keys, expiresAt: expiresAt),
                                          tags: ownership.tags(name: ownership.instanceName(runId: runId), runId: runId, expires: expiresAt),
                                          clientToken: token, rootVolumeSize: request.rootVolumeSize, rootDeviceName: rootDeviceName)
            run.workdirVolumeSize = request.workdirVolumeSize
            let instances: [EC2Instance]
            do {
                // A profile from the record is not propagating: "not found" means it is gone.
                instances = try await runInstancesRetryingProfile(run, waitForProfile: !account.fromCache)
            } catch let error as AWSError where Self.isStaleAccountError(error) {
                account = try await recheckAccount(sshCidr: request.sshCidr, stale: account, cause: error)
                run.keyName = account.keyPairName
                run.securityGroupIds = [account.securityGroupId]
                run.instanceProfileName = account.instanceProfileName
                // Other parameters under the same token would be rejected as IdempotentParameterMismatch.
                run.clientToken = token + "r"
                record.clientTokens.append(token + "r")
                try state.saveRun(record)
                instances = try await runInstancesRetryingProfile(run, waitForProfile: true)
            }
            for instance in instances {
                guard instance.launchIndex < keys.count else { continue }
                record.instances.append(.init(id: instance.id, launchIndex: instance.launchIndex + batch * UserData.maxHostKeys,
                                              publicIp: instance.publicIp, privateIp: instance.privateIp,
                                              hostPublicKey: keys[instance.launchIndex].openSSHPublicKey(),
                                              hostKeyFingerprint: keys[instance.launchIndex].fingerprint))
            }
            try state.saveRun(record)
            launched += instances.map(\.id)
            remaining -= size
            batch += 1
        }
        if request.waitUntilRunning {
            let running = try await ec2.waitForInstances(launched, toBe: ["running"], timeout: waitTimeout, interval: pollInterval)
            let byId = Dictionary(running.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for i in record.instances.indices {
                record.instances[i].publicIp = byId[record.instances[i].id]?.publicIp ?? record.instances[i].publicIp
                record.instances[i].privateIp = byId[record.instances[i].id]?.privateIp ?? record.instances[i].privateIp
                record.instances[i].availabilityZone = byId[record.instances[i].id]?.availabilityZone ?? record.instances[i].availabilityZone
            }
            if request.spot != nil { await recordSpotPrices(&record) }
        }
        record.pendingHostKeys = []
        try state.saveRun(record)
        try state.pinHostKeys(record.instances.compactMap { i in (i.publicIp ?? i.privateIp).map { ($0, i.hostPublicKey) } })
        return LaunchResult(run: record, account: account, fleetErrors: fleetErrors)
    }

    /// The image's RootDeviceName, which a root volume's block device mapping must name.
    func rootDeviceName(of imageId: String) async throws -> String {
        guard let image = try await ec2.describeImages(ids: [imageId]).first else {
            throw AutomationAWSError("image \(imageId) was not found in \(region); check --image")
        }
        guard let device = image.rootDeviceName, !device.isEmpty else {
            throw AutomationAWSError("image \(imageId) reports no RootDeviceName, so --root-volume-size cannot name its root volume; launch without it")
        }
        return device
    }

    /// A just-created instance profile takes seconds to propagate in IAM; RunInstances rejects it until then.
    func runInstancesRetryingProfile(_ request: RunInstancesRequest, waitForProfile: Bool) async throws -> [EC2Instance] {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while true {
            do {
                return try await ec2.runInstances(request)
            } catch let error as AWSError where waitForProfile && Self.isProfileNotReady(error) && clock.now < deadline {
                try await Task.sleep(for: .seconds(3))
            }
        }
    }
}
