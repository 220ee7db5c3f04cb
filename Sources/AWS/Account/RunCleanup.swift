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
        if var record = state.loadRuns(region: region, namespace: ownership.namespace).first(where: { $0.runId == runId }) {
            // A --spot launch that was interrupted may have left its launch template.
            if !(record.launchTemplates ?? []).isEmpty { try await deleteRunLaunchTemplates(&record) }
            // The launch is over either way: its tokens have found whatever it started.
            record.pendingHostKeys = []
            record.instances = []
            try? state.saveRun(record)
            forgetTerminated(Set(instances.map(\.id)))
            if record.images.isEmpty && record.snapshots.isEmpty { state.removeRun(record) }
        }
        return instances
    }
}
