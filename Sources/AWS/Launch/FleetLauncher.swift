import Foundation

/// What `--spot` asks for: a fleet that may choose among these instance types.
public struct SpotLaunch: Sendable, Equatable {
    /// The allowed types, the requested one first.
    public var instanceTypes: [String]
    /// CreateFleet takes up to 300 overrides; more than a handful of alternatives is a typo.
    public static let maxInstanceTypes = 20

    public init(instanceTypes: [String]) {
        self.instanceTypes = instanceTypes
    }
}

extension AWSAutomation {
    /// Launches `request.count` instances through `instant` EC2 Fleets: spot first, across
    /// `spot.instanceTypes` (price-capacity-optimized), then on-demand for the capacity spot
    /// could not give. The run's launch template is recorded before it is created and deleted
    /// as soon as the fleets answered; teardown deletes it if the launch was interrupted.
    ///
    /// Every instance boots with the same user data, so all share one host key (a fleet
    /// launches each instance with launch index 0). Returns the launched instance ids and the
    /// fleets' errors (why spot, or a type, fell short).
    func launchFleet(_ request: LaunchRequest, spot: SpotLaunch, account: inout AccountResources, imageId: String,
                     rootDeviceName: String?, expiresAt: Date, record: inout RunRecord) async throws -> ([String], [FleetResult.Failure]) {
        guard (1...SpotLaunch.maxInstanceTypes).contains(spot.instanceTypes.count) else {
            throw AutomationAWSError("--spot needs 1 to \(SpotLaunch.maxInstanceTypes) instance types, not \(spot.instanceTypes.count)")
        }
        let runId = record.runId
        let hostKey = try Ed25519KeyPair.generate()
        let userData = try UserData.render(sharedHostKey: hostKey, expiresAt: expiresAt)
        let name = ownership.launchTemplateName(runId: runId)
        record.pendingHostKeys = [hostKey.openSSHPublicKey()]
        record.launchTemplates = (record.launchTemplates ?? []) + [name]
        try state.saveRun(record)

        var launched: [FleetResult.Instance] = []
        var errors: [FleetResult.Failure] = []
        var attempt = 0
        var rechecked = false
        let profileDeadline = ContinuousClock.now + .seconds(60)
        while true {
            let template = try await createLaunchTemplate(LaunchTemplateRequest(
                name: name, imageId: imageId, keyName: account.keyPairName, securityGroupIds: [account.securityGroupId],
                instanceProfileName: account.instanceProfileName, userData: userData,
                instanceTags: ownership.tags(name: ownership.instanceName(runId: runId), runId: runId, expires: expiresAt),
                templateTags: ownership.tags(name: name, runId: runId, expires: expiresAt), clientToken: "\(runId)-lt\(attempt)",
                rootVolumeSize: request.rootVolumeSize, rootDeviceName: rootDeviceName, workdirVolumeSize: request.workdirVolumeSize))
            errors = []
            do {
                try await launchFleets(request, spot: spot, templateId: template.id, name: name, hostKey: hostKey, attempt: attempt,
                                       expiresAt: expiresAt, launched: &launched, errors: &errors, record: &record)
            } catch {
                // Not left behind for the next cleanup: deleted now, even when the launch was cancelled.
                let snapshot = record
                record = await Task.detached { [self] () -> RunRecord in
                    var cleaned = snapshot
                    try? await deleteRunLaunchTemplates(&cleaned)
                    return cleaned
                }.value
                throw error
            }
            try await deleteRunLaunchTemplates(&record)
            guard launched.isEmpty, !errors.isEmpty else { break }
            let stale = errors.map { AWSError(service: "ec2", operation: "CreateFleet", code: $0.code, message: $0.message, httpStatus: 200) }
            if !account.fromCache, stale.allSatisfy(Self.isProfileNotReady), ContinuousClock.now < profileDeadline {
                // A just-created instance profile takes seconds to reach EC2.
                try await Task.sleep(for: .seconds(3))
            } else if !rechecked, let cause = stale.first(where: Self.isStaleAccountError) {
                // The record vouched for something that is gone: check the account once, then try again.
                rechecked = true
                account = try await recheckAccount(sshCidr: request.sshCidr, stale: account, cause: cause)
            } else {
                break
            }
            attempt += 1
            record.launchTemplates = (record.launchTemplates ?? []) + [name]
            try state.saveRun(record)
        }
        if launched.count < request.count {
            // All or nothing, like RunInstances: a partial fleet is no use to the caller.
            let ids = launched.map(\.id)
            if !ids.isEmpty {
                try? await ec2.terminateInstances(ids)
            }
            // Several pools often fail for one reason: each reason once.
            let why = errors.isEmpty ? "no errors reported" : Array(Set(errors.map(\.description))).sorted().joined(separator: "; ")
            throw AutomationAWSError("EC2 Fleet launched \(launched.count) of \(request.count) instances (spot, then on-demand, of "
                                     + "\(spot.instanceTypes.joined(separator: ", "))): \(why)"
                                     + (ids.isEmpty ? "" : "; terminated the \(ids.count) it launched"))
        }
        return (launched.map(\.id), errors)
    }

    /// Spot fleet, then on-demand fleet for what is still missing; every answer is recorded at once.
    private func launchFleets(_ request: LaunchRequest, spot: SpotLaunch, templateId: String, name: String, hostKey: Ed25519KeyPair,
                              attempt: Int, expiresAt: Date, launched: inout [FleetResult.Instance], errors: inout [FleetResult.Failure],
                              record: inout RunRecord) async throws {
        let runId = record.runId
        for capacity in [FleetRequest.Capacity.spot, .onDemand] {
            let missing = request.count - launched.count
            guard missing > 0 else { break }
            let result = try await ec2.createFleet(FleetRequest(
                launchTemplateId: templateId, instanceTypes: spot.instanceTypes, count: missing, capacity: capacity,
                tags: ownership.tags(name: name, runId: runId, expires: expiresAt),
                clientToken: "\(runId)-\(capacity == .spot ? "spot" : "od")\(attempt)"))
            logger.debug("aws.fleet.launched", metadata: [
                "aws.fleet": "\(result.fleetId)", "aws.capacity": "\(capacity.rawValue)", "aws.instances": "\(result.instances.count)",
                "aws.errors": "\(result.errors.map(\.description).joined(separator: "; "))"])
            launched += result.instances
            errors += result.errors
            record.instances += result.instances.enumerated().map { offset, instance in
                RunRecord.Instance(id: instance.id, launchIndex: record.instances.count + offset, hostPublicKey: hostKey.openSSHPublicKey(),
                                   hostKeyFingerprint: hostKey.fingerprint, instanceType: instance.instanceType, lifecycle: instance.lifecycle)
            }
            try state.saveRun(record)
        }
    }

    /// Creates the run's launch template; a retried call that finds its own template (the
    /// answer of the first one was lost) takes it.
    func createLaunchTemplate(_ request: LaunchTemplateRequest) async throws -> EC2LaunchTemplate {
        do {
            return try await ec2.createLaunchTemplate(request)
        } catch let error as AWSError where error.code.contains("AlreadyExists") {
            guard let existing = try await ec2.describeLaunchTemplates(names: [request.name]).first, ownership.owns(existing.tags),
                  existing.tag(Ownership.runKey) == request.templateTags.first(where: { $0.key == Ownership.runKey })?.value else {
                throw error
            }
            return existing
        }
    }

    /// Deletes the launch templates `record` lists (already gone is fine) and forgets them.
    func deleteRunLaunchTemplates(_ record: inout RunRecord) async throws {
        for name in Set(record.launchTemplates ?? []).sorted() {
            try await ignoringNotFound { try await ec2.deleteLaunchTemplate(name: name) }
        }
        record.launchTemplates = nil
        try state.saveRun(record)
    }

    /// Fills in the spot price in effect for each spot instance of `record` (by type and zone),
    /// in one call. A failure costs only the prices: it is logged and the launch goes on.
    func recordSpotPrices(_ record: inout RunRecord) async {
        let types = Set(record.instances.filter { $0.lifecycle == "spot" }.compactMap(\.instanceType)).sorted()
        guard !types.isEmpty else { return }
        do {
            let prices = try await ec2.currentSpotPrices(instanceTypes: types)
            let cheapest = SpotPrice.cheapest(prices)
            for i in record.instances.indices where record.instances[i].lifecycle == "spot" {
                let instance = record.instances[i]
                record.instances[i].spotPrice = prices.first { $0.instanceType == instance.instanceType && $0.availabilityZone == instance.availabilityZone }?.price
                    ?? instance.instanceType.flatMap { cheapest[$0]?.price }
            }
        } catch {
            logger.warning("aws.spot.prices-unavailable", metadata: ["error": "\(error)"])
        }
    }
}
