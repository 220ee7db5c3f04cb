import Foundation

/// Launch templates, `instant` EC2 Fleets and spot prices: the calls behind `--spot`.
extension EC2 {
    /// Creates a launch template whose instances terminate on OS shutdown, as RunInstances' do.
    public func createLaunchTemplate(_ request: LaunchTemplateRequest) async throws -> EC2LaunchTemplate {
        let xml = try await call("CreateLaunchTemplate", Self.createLaunchTemplateParameters(request))
        guard let template = xml.child("launchTemplate").map(EC2LaunchTemplate.init), template.id.hasPrefix("lt-") else {
            throw AutomationAWSError("CreateLaunchTemplate for \(request.name) answered without a launch template id")
        }
        return template
    }

    static func createLaunchTemplateParameters(_ request: LaunchTemplateRequest) -> QueryParameters {
        var p = QueryParameters()
        p.set("LaunchTemplateName", request.name)
        p.set("ClientToken", request.clientToken)
        let data = "LaunchTemplateData."
        p.set(data + "ImageId", request.imageId)
        p.set(data + "KeyName", request.keyName)
        p.list(data + "SecurityGroupId", request.securityGroupIds)
        p.set(data + "IamInstanceProfile.Name", request.instanceProfileName)
        p.set(data + "UserData", request.userData.map { Data($0.utf8).base64EncodedString() })
        p.set(data + "InstanceInitiatedShutdownBehavior", "terminate")
        p.blockDeviceMappings(prefix: data, rootVolumeSize: request.rootVolumeSize, rootDeviceName: request.rootDeviceName,
                              workdirVolumeSize: request.workdirVolumeSize)
        p.tagSpecifications(["instance", "volume"], tags: request.instanceTags, prefix: data)
        p.tagSpecifications(["launch-template"], tags: request.templateTags)
        return p
    }

    /// Deletes a launch template by name (instances launched from it are not affected).
    public func deleteLaunchTemplate(name: String) async throws {
        var p = QueryParameters()
        p.set("LaunchTemplateName", name)
        _ = try await call("DeleteLaunchTemplate", p)
    }

    /// Launch templates by name and/or filter, across all pages.
    public func describeLaunchTemplates(names: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2LaunchTemplate] {
        var p = QueryParameters()
        p.list("LaunchTemplateName", names)
        p.filters(filters)
        // MaxResults (at most 200 here) cannot be combined with names.
        var page = self
        page.pageSize = min(pageSize, 200)
        return try await page.paginate("DescribeLaunchTemplates", p, list: "launchTemplates", paged: names.isEmpty).map(EC2LaunchTemplate.init)
    }

    /// Launches an `instant` fleet: one call that returns the instances it could launch and,
    /// for the capacity it could not, the errors.
    public func createFleet(_ request: FleetRequest) async throws -> FleetResult {
        try FleetResult(try await call("CreateFleet", Self.createFleetParameters(request)))
    }

    static func createFleetParameters(_ request: FleetRequest) -> QueryParameters {
        var p = QueryParameters()
        p.set("Type", "instant")
        p.set("ClientToken", request.clientToken)
        p.set("TargetCapacitySpecification.TotalTargetCapacity", String(request.count))
        p.set("TargetCapacitySpecification.DefaultTargetCapacityType", request.capacity.rawValue)
        switch request.capacity {
        case .spot:
            p.set("SpotOptions.AllocationStrategy", FleetRequest.spotAllocationStrategy)
            p.set("SpotOptions.InstanceInterruptionBehavior", "terminate")
        case .onDemand:
            p.set("OnDemandOptions.AllocationStrategy", FleetRequest.onDemandAllocationStrategy)
        }
        let config = "LaunchTemplateConfigs.1."
        p.set(config + "LaunchTemplateSpecification.LaunchTemplateId", request.launchTemplateId)
        p.set(config + "LaunchTemplateSpecification.Version", "1")
        for (i, type) in request.instanceTypes.enumerated() { p.set(config + "Overrides.\(i + 1).InstanceType", type) }
        p.tagSpecifications(["fleet"], tags: request.tags)
        return p
    }

    /// The Linux/UNIX spot prices in effect now for `instanceTypes`, one per type and zone.
    public func currentSpotPrices(instanceTypes: [String], now: Date = Date()) async throws -> [SpotPrice] {
        guard !instanceTypes.isEmpty else { return [] }
        let items = try await paginate("DescribeSpotPriceHistory", Self.spotPriceParameters(instanceTypes: instanceTypes, now: now),
                                       list: "spotPriceHistorySet")
        return SpotPrice.latest(try items.map(SpotPrice.init).filter { instanceTypes.contains($0.instanceType) })
    }

    /// A start time of now and no end time asks for the price in effect now in each zone.
    static func spotPriceParameters(instanceTypes: [String], now: Date) -> QueryParameters {
        var p = QueryParameters()
        p.list("InstanceType", instanceTypes)
        p.list("ProductDescription", ["Linux/UNIX"])
        p.set("StartTime", ISO8601.format(now))
        return p
    }
}
