import Foundation

extension AWSAutomation {
    static let liveStates = ["pending", "running", "stopping", "stopped"]

    /// This namespace's live instances: found by tag, plus those in local run records (for
    /// instances whose tags are missing), never one tagged with another namespace. With
    /// `forgettingEnded`, records of instances that ended by themselves are dropped; without it
    /// (plans and dry runs) nothing local changes.
    public func ownedInstances(forgettingEnded: Bool = false) async throws -> [EC2Instance] {
        var found = try await ec2.describeInstances(filters: ownership.filters + [EC2Filter("instance-state-name", Self.liveStates)])
        let runs = state.loadRuns(region: region, namespace: ownership.namespace)
        let known = Set(found.map(\.id))
        let recorded = Set(runs.flatMap { $0.instances.map(\.id) }).subtracting(known)
        let recordedNow = try await ec2.describeExistingInstances(ids: recorded.sorted())
        found += recordedNow.filter { Self.liveStates.contains($0.state) && !ownership.belongsToOther($0.tags) }
        // Instances that ended by themselves (lifetime reached) leave records behind: drop them.
        let live = Set(recordedNow.filter { Self.liveStates.contains($0.state) }.map(\.id))
        let ended = recorded.subtracting(live)
        if forgettingEnded, !ended.isEmpty { forgetTerminated(ended) }
        // Launches interrupted before their answer was recorded: find instances by idempotency token.
        found += try await instancesByClientToken(runs.filter { !$0.pendingHostKeys.isEmpty }.flatMap(\.clientTokens), besides: found)
        return found.sorted { $0.id < $1.id }
    }

    /// Live instances started under these idempotency tokens that are not in `known` and
    /// belong to no other namespace. An AWS error is logged, not thrown: cleanup goes on
    /// with what tags and records found (moto does not implement the filter).
    func instancesByClientToken(_ tokens: [String], besides known: [EC2Instance]) async throws -> [EC2Instance] {
        guard !tokens.isEmpty else { return [] }
        let seen = Set(known.map(\.id))
        do {
            return try await ec2.describeInstances(filters: [EC2Filter("client-token", tokens), EC2Filter("instance-state-name", Self.liveStates)])
                .filter { !seen.contains($0.id) && !ownership.belongsToOther($0.tags) }
        } catch let error as AWSError {
            logger.warning("aws.cleanup.client-token-lookup-failed", metadata: ["aws.error": "\(error)"])
            return []
        }
    }

    /// Terminates this namespace's instances (or, with `expiredOnly`, those past their expiry tag or record) and waits.
    public func terminateInstances(dryRun: Bool, expiredOnly: Bool = false, now: Date = Date()) async throws -> CleanupPlan {
        var plan = CleanupPlan()
        var instances = try await ownedInstances(forgettingEnded: !dryRun)
        if expiredOnly {
            let recordExpiry = Dictionary(state.loadRuns(region: region, namespace: ownership.namespace).flatMap { run in
                run.instances.map { ($0.id, run.expiresAt) } }, uniquingKeysWith: { a, _ in a })
            instances = instances.filter { instance in
                let expiry = instance.tag(Ownership.expiresKey).flatMap(ISO8601.parse) ?? recordExpiry[instance.id] ?? nil
                return expiry.map { $0 <= now } ?? false
            }
        }
        plan.instances = instances
        plan.launchTemplates = try await ownedLaunchTemplates(expiredOnly: expiredOnly, now: now)
        if dryRun { return plan }
        if !instances.isEmpty {
            let ids = instances.map(\.id)
            try await ec2.terminateInstances(ids)
            _ = try await ec2.waitForInstances(ids, toBe: ["terminated"], timeout: waitTimeout, interval: pollInterval)
            forgetTerminated(Set(ids))
        }
        try await deleteLaunchTemplates(plan.launchTemplates)
        return plan
    }

    /// This namespace's launch templates (only `--spot` launches make them, and delete them
    /// once the fleet answered): by tag, plus names in local run records. With `expiredOnly`,
    /// those whose expiry tag has passed.
    func ownedLaunchTemplates(expiredOnly: Bool = false, now: Date = Date()) async throws -> [EC2LaunchTemplate] {
        var found = try await ec2.describeLaunchTemplates(filters: ownership.filters)
        let runs = state.loadRuns(region: region, namespace: ownership.namespace)
        for name in Set(runs.flatMap { $0.launchTemplates ?? [] }).subtracting(found.map(\.name)).sorted() {
            // One by one: a name that no longer exists fails the whole call.
            if let template = try? await ec2.describeLaunchTemplates(names: [name]).first, !ownership.belongsToOther(template.tags) {
                found.append(template)
            }
        }
        if expiredOnly {
            found = found.filter { $0.tag(Ownership.expiresKey).flatMap(ISO8601.parse).map { $0 <= now } ?? false }
        }
        return found.sorted { $0.name < $1.name }
    }

    /// Deletes `templates` (already gone is fine) and drops them from the run records.
    func deleteLaunchTemplates(_ templates: [EC2LaunchTemplate]) async throws {
        guard !templates.isEmpty else { return }
        for template in templates { try await ignoringNotFound { try await ec2.deleteLaunchTemplate(name: template.name) } }
        let names = Set(templates.map(\.name))
        for var run in state.loadRuns(region: region, namespace: ownership.namespace) where !(run.launchTemplates ?? []).isEmpty {
            run.launchTemplates?.removeAll { names.contains($0) }
            if run.launchTemplates?.isEmpty == true { run.launchTemplates = nil }
            if run.launchTemplates == nil && run.instances.isEmpty && run.images.isEmpty && run.snapshots.isEmpty && run.pendingHostKeys.isEmpty {
                state.removeRun(run)
            } else {
                try? state.saveRun(run)
            }
        }
    }

    /// Drops run records whose instances are all gone and that created nothing else.
    func forgetTerminated(_ ids: Set<String>) {
        for var run in state.loadRuns(region: region, namespace: ownership.namespace) {
            let before = run.instances.count
            run.instances.removeAll { ids.contains($0.id) }
            // A launch whose answer never arrived stays recorded for a day so its client token can still find instances.
            let interrupted = !run.pendingHostKeys.isEmpty && Date().timeIntervalSince(run.createdAt) < 24 * 3600
            if run.instances.isEmpty && run.images.isEmpty && run.snapshots.isEmpty && (run.launchTemplates ?? []).isEmpty && !interrupted {
                state.removeRun(run)
            } else if run.instances.count != before {
                try? state.saveRun(run)
            }
        }
    }

    /// Everything this namespace owns in the region and in IAM, from tags, names and local records.
    public func purgePlan() async throws -> CleanupPlan {
        var plan = CleanupPlan()
        plan.instances = try await ownedInstances()
        let runs = state.loadRuns(region: region, namespace: ownership.namespace)
        var images = try await ec2.describeImages(owners: ["self"], filters: ownership.filters)
        let recordedImages = Set(runs.flatMap(\.images)).subtracting(images.map(\.id))
        for id in recordedImages.sorted() {
            if let image = try? await ec2.describeImages(ids: [id]).first, !ownership.belongsToOther(image.tags) { images.append(image) }
        }
        plan.images = images
        plan.snapshots = Array(Set(images.flatMap(\.snapshotIds) + runs.flatMap(\.snapshots))).sorted()
        let account = state.loadAccount(region: region, namespace: ownership.namespace)
        var keys = try await ec2.describeKeyPairs(filters: ownership.filters).map(\.name)
        if let name = account?.keyPairName, !keys.contains(name),
           let pair = try? await ec2.describeKeyPairs(filters: [EC2Filter("key-name", name)]).first, !ownership.belongsToOther(pair.tags) {
            keys.append(name)
        }
        plan.keyPairs = keys.sorted()
        var groups = try await ec2.describeSecurityGroups(filters: ownership.filters)
        if let id = account?.securityGroupId, !groups.contains(where: { $0.id == id }),
           let group = try? await ec2.describeSecurityGroups(ids: [id]).first, !ownership.belongsToOther(group.tags) {
            groups.append(group)
        }
        plan.securityGroups = groups
        plan.launchTemplates = try await ownedLaunchTemplates()
        // IAM resources live under the namespace's own path, so listing that path is exact.
        plan.instanceProfiles = try await iam.listInstanceProfiles(pathPrefix: ownership.iamPath)
        plan.roles = try await iam.listRoles(pathPrefix: ownership.iamPath)
        return plan
    }

    /// Deletes everything in ``purgePlan()`` in dependency order; with `dryRun` only returns the plan.
    public func purge(dryRun: Bool) async throws -> CleanupPlan {
        let plan = try await purgePlan()
        if dryRun { return plan }
        if !plan.instances.isEmpty {
            let ids = plan.instances.map(\.id)
            try await ec2.terminateInstances(ids)
            _ = try await ec2.waitForInstances(ids, toBe: ["terminated"], timeout: waitTimeout, interval: pollInterval)
        }
        try await deleteLaunchTemplates(plan.launchTemplates)
        for image in plan.images { try await ignoringNotFound { try await ec2.deregisterImage(image.id) } }
        for snapshot in plan.snapshots { try await ignoringNotFound { try await ec2.deleteSnapshot(snapshot) } }
        for key in plan.keyPairs { try await ignoringNotFound { try await ec2.deleteKeyPair(name: key) } }
        for group in plan.securityGroups {
            // Terminating instances keep their network interfaces for a while: retry DependencyViolation.
            _ = try await EC2.poll("security group \(group.id) to become deletable", timeout: waitTimeout, interval: pollInterval) { () -> (Bool?, String) in
                do {
                    try await ignoringNotFound { try await ec2.deleteSecurityGroup(id: group.id) }
                    return (true, "deleted")
                } catch let error as AWSError where error.code == "DependencyViolation" {
                    return (nil, error.message)
                }
            }
        }
        for profile in plan.instanceProfiles {
            for role in profile.roleNames { try await ignoringNotFound { try await iam.removeRoleFromInstanceProfile(profile: profile.name, role: role) } }
            try await ignoringNotFound { try await iam.deleteInstanceProfile(name: profile.name) }
        }
        for role in plan.roles {
            for policy in try await iam.listAttachedRolePolicies(role: role.name) {
                try await ignoringNotFound { try await iam.detachRolePolicy(role: role.name, policyArn: policy) }
            }
            try await ignoringNotFound { try await iam.deleteRole(name: role.name) }
        }
        state.removeAccount(region: region, namespace: ownership.namespace)
        for run in state.loadRuns(region: region, namespace: ownership.namespace) { state.removeRun(run) }
        return plan
    }

    func ignoringNotFound(_ body: () async throws -> Void) async throws {
        do { try await body() } catch let error as AWSError where error.isNotFound || error.code.hasSuffix(".NotFound") {
            logger.debug("aws.cleanup.already-gone", metadata: ["aws.error": "\(error.code)"])
        }
    }
}
