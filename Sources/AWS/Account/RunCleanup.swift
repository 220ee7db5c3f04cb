import Foundation

extension AWSAutomation {
    /// The live instances of one run: by its run tag, by its record, and by the idempotency
    /// tokens of launches whose answer never arrived (an interrupted RunInstances).
    public func runInstances(runId: String) async throws -> [EC2Instance] {
        var found = try await ec2.describeInstances(filters: ownership.filters + [
            EC2Filter("tag:\(Ownership.runKey)", [runId]), EC2Filter("instance-state-name", Self.liveStates)])
        let record = state.loadRuns(region: region, namespace: ownership.namespace).first { $0.runId == runId }
        let recorded = Set(record?.instances.map(\.id) ?? []).subtracting(found.map(\.id))
        found += try await ec2.describeExistingInstances(ids: recorded.sorted())
            .filter { Self.liveStates.contains($0.state) && !ownership.belongsToOther($0.tags) }
        // Only a launch whose answer never arrived (host keys still pending) needs its tokens.
        if let record, !record.pendingHostKeys.isEmpty {
            found += try await instancesByClientToken(record.clientTokens, besides: found)
        }
        return found.sorted { $0.id < $1.id }
    }

    /// Terminates one run's instances, waits until they are gone, deletes a launch template an
    /// interrupted `--spot` launch left, and drops the run's record.
    /// Other runs of the namespace, and other namespaces, are never touched.
    @discardableResult
    public func terminateRun(runId: String) async throws -> [EC2Instance] {
        let instances = try await runInstances(runId: runId)
        if !instances.isEmpty {
            let ids = instances.map(\.id)
            try await ec2.terminateInstances(ids)
            _ = try await ec2.waitForInstances(ids, toBe: ["terminated"], timeout: waitTimeout, interval: pollInterval)
        }
        try await deleteLeftoverLaunchTemplates(runId: runId)
        forgetRun(runId: runId, terminated: Set(instances.map(\.id)))
        return instances
    }

    /// Terminates the instances of a run whose launch completed, in one call: the launch's
    /// answer named every instance, so nothing is looked up again, and nothing waits for
    /// "terminated": an instance that TerminateInstances reports `shutting-down` can never
    /// run again and is no longer billed (waiting for `terminated` costs a DescribeInstances
    /// every poll and 30–60 s on EC2). One reported in any other state is waited for until it
    /// is going away; ids EC2 no longer knows fall back to ``terminateRun(runId:)``.
    @discardableResult
    public func terminateLaunched(runId: String, instanceIds: [String]) async throws -> [String] {
        guard !instanceIds.isEmpty else { return try await terminateRun(runId: runId).map(\.id) }
        let goingAway: Set<String> = ["shutting-down", "terminated"]
        let states: [(String, String)]
        do {
            states = try await ec2.terminateInstances(instanceIds)
        } catch let error as AWSError where error.code == "InvalidInstanceID.NotFound" {
            return try await terminateRun(runId: runId).map(\.id)
        }
        let settled = Set(states.filter { goingAway.contains($0.1) }.map(\.0))
        let unsettled = instanceIds.filter { !settled.contains($0) }
        if !unsettled.isEmpty {
            _ = try await ec2.waitForInstances(unsettled, toBe: goingAway, timeout: waitTimeout, interval: pollInterval)
        }
        try await deleteLeftoverLaunchTemplates(runId: runId)
        forgetRun(runId: runId, terminated: Set(instanceIds))
        return instanceIds
    }

    /// A --spot launch that was interrupted may have left its launch template (recorded
    /// before it was created); a completed launch deleted its own, so this costs no call.
    private func deleteLeftoverLaunchTemplates(runId: String) async throws {
        guard var record = state.loadRuns(region: region, namespace: ownership.namespace).first(where: { $0.runId == runId }),
              !(record.launchTemplates ?? []).isEmpty else { return }
        try await deleteRunLaunchTemplates(&record)
    }

    /// The launch is over either way: its tokens have found whatever it started.
    private func forgetRun(runId: String, terminated: Set<String>) {
        guard var record = state.loadRuns(region: region, namespace: ownership.namespace).first(where: { $0.runId == runId }) else { return }
        record.pendingHostKeys = []
        record.instances = []
        try? state.saveRun(record)
        forgetTerminated(terminated)
        if record.images.isEmpty && record.snapshots.isEmpty { state.removeRun(record) }
    }
}
