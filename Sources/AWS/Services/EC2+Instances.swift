import Foundation

extension EC2 {
    /// Launches `request.count` instances in one call; they terminate themselves on OS shutdown.
    public func runInstances(_ request: RunInstancesRequest) async throws -> [EC2Instance] {
        var p = QueryParameters()
        p.set("ImageId", request.imageId)
        p.set("InstanceType", request.instanceType)
        p.set("MinCount", String(request.count))
        p.set("MaxCount", String(request.count))
        p.set("KeyName", request.keyName)
        p.list("SecurityGroupId", request.securityGroupIds)
        p.set("IamInstanceProfile.Name", request.instanceProfileName)
        p.set("UserData", request.userData.map { Data($0.utf8).base64EncodedString() })
        p.set("SubnetId", request.subnetId)
        p.set("ClientToken", request.clientToken)
        p.set("InstanceInitiatedShutdownBehavior", "terminate")
        p.blockDeviceMappings(rootVolumeSize: request.rootVolumeSize, rootDeviceName: request.rootDeviceName,
                              workdirVolumeSize: request.workdirVolumeSize)
        p.tagSpecifications(["instance", "volume"], tags: request.tags)
        let xml = try await call("RunInstances", p)
        return xml.list("instancesSet").map(EC2Instance.init)
    }

    /// Instances by id and/or filter, across all pages.
    public func describeInstances(ids: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Instance] {
        var p = QueryParameters()
        p.list("InstanceId", ids)
        p.filters(filters)
        let reservations = try await paginate("DescribeInstances", p, list: "reservationSet", paged: ids.isEmpty)
        return reservations.flatMap { $0.list("instancesSet").map(EC2Instance.init) }
    }

    /// Like ``describeInstances(ids:filters:)`` but ids that no longer exist are dropped instead of failing the call.
    public func describeExistingInstances(ids: [String]) async throws -> [EC2Instance] {
        guard !ids.isEmpty else { return [] }
        do {
            return try await describeInstances(ids: ids)
        } catch let error as AWSError where error.code == "InvalidInstanceID.NotFound" || error.code == "InvalidInstanceID.Malformed" {
            // Ask one by one to keep the ones that still exist.
            var found: [EC2Instance] = []
            for id in ids {
                if let hit = try? await describeInstances(ids: [id]) { found += hit }
            }
            return found
        }
    }

    /// Returns (instance id, new state) pairs.
    @discardableResult
    public func terminateInstances(_ ids: [String]) async throws -> [(String, String)] {
        try await changeState("TerminateInstances", ids)
    }

    @discardableResult
    public func stopInstances(_ ids: [String]) async throws -> [(String, String)] {
        try await changeState("StopInstances", ids)
    }

    private func changeState(_ action: String, _ ids: [String]) async throws -> [(String, String)] {
        var result: [(String, String)] = []
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            var p = QueryParameters()
            p.list("InstanceId", chunk)
            let xml = try await call(action, p)
            result += xml.list("instancesSet").map { ($0.string("instanceId") ?? "", $0.string("currentState/name") ?? "") }
        }
        return result
    }

    /// Waits until every instance is in one of `states` (a missing instance counts as terminated).
    public func waitForInstances(_ ids: [String], toBe states: Set<String>, timeout: Duration, interval: Duration = .seconds(2)) async throws -> [EC2Instance] {
        guard !ids.isEmpty else { return [] }
        return try await EC2.poll("instances \(ids.joined(separator: ", ")) to be \(states.sorted().joined(separator: " or "))", timeout: timeout, interval: interval) {
            let instances = try await describeExistingInstances(ids: ids)
            let byId = Dictionary(instances.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let pending = ids.filter { id in !(byId[id].map { states.contains($0.state) } ?? states.contains("terminated")) }
            let summary = ids.map { "\($0)=\(byId[$0]?.state ?? "gone")" }.joined(separator: ", ")
            return (pending.isEmpty ? instances : nil, summary)
        }
    }
}

extension QueryParameters {
    /// `BlockDeviceMapping.N…` for a resized root volume and the extra /hgwork volume, under
    /// `prefix` (`LaunchTemplateData.` in a launch template). Unmapped, the root keeps the
    /// image's own mapping (EC2 adds it; moto does not model that).
    mutating func blockDeviceMappings(prefix: String = "", rootVolumeSize: Int?, rootDeviceName: String?, workdirVolumeSize: Int?) {
        var volumes: [(String, Int)] = []
        if let size = rootVolumeSize, let device = rootDeviceName { volumes.append((device, size)) }
        if let size = workdirVolumeSize { volumes.append((RunInstancesRequest.workdirDeviceName, size)) }
        for (i, (device, size)) in volumes.enumerated() {
            let base = "\(prefix)BlockDeviceMapping.\(i + 1)"
            set("\(base).DeviceName", device)
            set("\(base).Ebs.VolumeSize", String(size))
            set("\(base).Ebs.VolumeType", "gp3")
            set("\(base).Ebs.DeleteOnTermination", "true")
        }
    }
}
