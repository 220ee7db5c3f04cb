import Foundation

extension AWSAutomation {
    /// Stops `instanceId`, creates a tagged image from it, records it in the run record, waits
    /// until it is available, then tags its snapshots (tagging snapshots inside CreateImage is
    /// not implemented by every endpoint, and a separate CreateTags works everywhere).
    public func createImage(from instanceId: String, runId: String, name: String, description: String = "hg-automation dev image") async throws -> String {
        try await ec2.stopInstances([instanceId])
        _ = try await ec2.waitForInstances([instanceId], toBe: ["stopped"], timeout: waitTimeout, interval: pollInterval)
        let id = try await ec2.createImage(instanceId: instanceId, name: name, description: description,
                                           tags: ownership.tags(name: name, runId: runId))
        var record = state.loadRuns(region: region, namespace: ownership.namespace).first { $0.runId == runId }
            ?? RunRecord(runId: runId, namespace: ownership.namespace, region: region)
        record.images.append(id)
        try state.saveRun(record)
        let image = try await ec2.waitForImage(id, timeout: waitTimeout, interval: pollInterval)
        record.snapshots += image.snapshotIds
        if !image.snapshotIds.isEmpty { try await ec2.createTags(image.snapshotIds, tags: ownership.tags(name: name, runId: runId)) }
        try state.saveRun(record)
        return id
    }
}
