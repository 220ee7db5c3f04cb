@testable import AWS
import Foundation
import Testing
import TestSupport

/// `--spot` launches against moto: instant EC2 Fleets from a per-run launch template, the
/// on-demand fallback (capacity withheld by deploy/aws/fault-proxy.py), and cleanup of the
/// templates an interrupted launch leaves.
@Suite("Spot launches through EC2 Fleet against moto", .requires(Fixtures.moto))
struct SpotLaunchTests {
    let cidr = "198.51.100.7/32"
    let spot = SpotLaunch(instanceTypes: ["t3.micro", "t3a.micro"])

    func request(count: Int) -> LaunchRequest {
        var request = LaunchRequest(count: count, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(3600), sshCidr: cidr)
        request.spot = spot
        return request
    }

    func userData(_ a: AWSAutomation, _ id: String) async throws -> String {
        var p = QueryParameters()
        p.set("InstanceId", id)
        p.set("Attribute", "userData")
        let encoded = try await a.client.query(.ec2, "DescribeInstanceAttribute", p).string("userData/value") ?? ""
        return String(decoding: Data(base64Encoded: encoded) ?? Data(), as: UTF8.self)
    }

    @Test("a spot launch tags its instances like RunInstances, pins one host key, deletes its template; launch and teardown are eight calls")
    func spotLaunchTagsPinsAndCleansUp() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let metrics = AWSCallMetrics()
            let a = try TestClients.automation(moto.endpoint, namespace: "alice", stateDirectory: dir, metrics: metrics)
            let result = try await a.launch(request(count: 3))
            #expect(result.run.instances.count == 3)
            #expect(metrics.snapshot["ec2:CreateFleet"] == 1, "spot gave everything: no on-demand fleet; calls \(metrics.snapshot)")
            #expect(metrics.snapshot["ec2:RunInstances"] == nil)
            #expect(metrics.snapshot["ec2:CreateLaunchTemplate"] == 1 && metrics.snapshot["ec2:DeleteLaunchTemplate"] == 1)
            #expect(metrics.snapshot["ec2:DescribeSpotPriceHistory"] == 1, "one price call for every spot instance")
            let hostKeys = Set(result.run.instances.map(\.hostPublicKey))
            #expect(hostKeys.count == 1, "one key for the fleet: its instances all boot with launch index 0")
            let known = try String(contentsOf: a.state.knownHostsFile, encoding: .utf8)
            for recorded in result.run.instances {
                #expect(recorded.lifecycle == "spot")
                #expect(recorded.instanceType.map(spot.instanceTypes.contains) == true)
                #expect(recorded.availabilityZone?.hasPrefix("us-west-2") == true)
                #expect(recorded.spotPrice == 0.00001, "moto's spot price")
                #expect(known.contains("\(try #require(recorded.publicIp)) \(recorded.hostPublicKey)"))
            }
            for instance in try await a.ec2.describeInstances(ids: result.run.instances.map(\.id)) {
                #expect(instance.state == "running")
                #expect(instance.lifecycle == "spot")
                #expect(instance.tag(Ownership.namespaceKey) == "alice")
                #expect(instance.tag(Ownership.toolKey) == Ownership.toolValue)
                #expect(instance.tag(Ownership.runKey) == result.run.runId)
                #expect(instance.tag(Ownership.expiresKey) != nil)
                #expect(instance.tag("Name") == a.ownership.instanceName(runId: result.run.runId))
                let userData = try await userData(a, instance.id)
                #expect(userData.contains("*) KEY='"), "the key is installed whatever the launch index")
                #expect(userData.contains("PUB='\(try #require(hostKeys.first))'"))
                #expect(userData.contains("#cloud-boothook"))
            }
            #expect(try await a.ec2.describeLaunchTemplates(filters: a.ownership.filters).isEmpty, "the template is deleted once the fleet answered")
            let record = try #require(a.state.loadRuns(region: "us-west-2", namespace: "alice").first { $0.runId == result.run.runId })
            #expect(record.launchTemplates == nil && record.pendingHostKeys.isEmpty)

            // With the account state recorded, a spot launch is these calls and no others.
            metrics.reset()
            let second = try await a.launch(request(count: 1))
            #expect(Set(metrics.snapshot.keys) == ["ec2:CreateLaunchTemplate", "ec2:CreateFleet", "ec2:DeleteLaunchTemplate",
                                                    "ec2:DescribeInstances", "ec2:DescribeSpotPriceHistory"], "got \(metrics.snapshot)")
            #expect(metrics.snapshot.filter { $0.key != "ec2:DescribeInstances" }.values.allSatisfy { $0 == 1 })

            // The ordinary teardown finds fleet instances by their run tag; with the launch, eight calls
            // (moto's instances are running at the first poll: on EC2 each extra poll adds one).
            try await a.terminateRun(runId: second.run.runId)
            #expect(metrics.total == 8, "spot launch and teardown: \(metrics.snapshot)")
            try await a.terminateRun(runId: result.run.runId)
            #expect(try await a.ownedInstances().isEmpty)
            #expect(a.state.loadRuns(region: "us-west-2", namespace: "alice").isEmpty)
            try await a.purge(dryRun: false)
        }
    }

    @Test("what spot cannot give is launched on demand, from the same template", arguments: [1, 0])
    func onDemandFallback(spotCapacity: Int) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, ""],
                                                      environment: ["FAULT_SPOT_CAPACITY": String(spotCapacity)])
            defer { proxy.stop() }
            let metrics = AWSCallMetrics()
            let a = try TestClients.automation(proxy.endpoint, namespace: "bob", stateDirectory: dir, metrics: metrics)
            let result = try await a.launch(request(count: 3))
            #expect(metrics.snapshot["ec2:CreateFleet"] == 2, "a spot fleet, then an on-demand one: \(metrics.snapshot)")
            let lifecycles = result.run.instances.map { $0.lifecycle ?? "?" }
            #expect(lifecycles.filter { $0 == "spot" }.count == spotCapacity, "\(lifecycles)")
            #expect(lifecycles.filter { $0 == "on-demand" }.count == 3 - spotCapacity, "\(lifecycles)")
            #expect(result.run.instances.filter { $0.lifecycle == "on-demand" }.allSatisfy { $0.spotPrice == nil })
            #expect(metrics.snapshot["ec2:DescribeSpotPriceHistory"] == (spotCapacity > 0 ? 1 : nil), "no price call without spot instances")
            #expect(result.fleetErrors.contains { $0.code == "InsufficientInstanceCapacity" && $0.lifecycle == "spot" }, "\(result.fleetErrors)")
            let live = try await a.ec2.describeInstances(ids: result.run.instances.map(\.id))
            #expect(live.allSatisfy { $0.tag(Ownership.runKey) == result.run.runId && $0.state == "running" })
            #expect(try await a.ec2.describeLaunchTemplates(filters: a.ownership.filters).isEmpty)
            try await a.terminateRun(runId: result.run.runId)
            #expect(try await a.ownedInstances().isEmpty)
            try await a.purge(dryRun: false)
        }
    }

    @Test("when neither spot nor on-demand gives everything, the launch fails with EC2's reasons and leaves nothing")
    func shortfallLeavesNothing() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, ""],
                                                      environment: ["FAULT_SPOT_CAPACITY": "1", "FAULT_ON_DEMAND_CAPACITY": "0"])
            defer { proxy.stop() }
            let a = try TestClients.automation(proxy.endpoint, namespace: "carol", stateDirectory: dir)
            do {
                _ = try await a.launch(request(count: 3))
                Issue.record("a launch short of two instances succeeded")
            } catch let error as AutomationAWSError {
                #expect(error.description.contains("launched 1 of 3 instances"), "\(error)")
                #expect(error.description.contains("InsufficientInstanceCapacity"), "\(error)")
                #expect(error.description.contains("terminated the 1 it launched"), "\(error)")
            }
            let leftovers = try await a.ec2.describeInstances(filters: a.ownership.filters + [EC2Filter("instance-state-name", AWSAutomation.liveStates)])
            #expect(leftovers.isEmpty, "\(leftovers.map(\.id))")
            #expect(try await a.ec2.describeLaunchTemplates(filters: a.ownership.filters).isEmpty)
            try await a.purge(dryRun: false)
        }
    }

    @Test("a template left by an interrupted launch is deleted by the run's teardown, listed and deleted by the cleanup commands")
    func leftoverTemplates() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "dave", stateDirectory: dir)
            // What a launch interrupted between CreateLaunchTemplate and CreateFleet leaves: a recorded, tagged template.
            func leave(runId: String, expires: Date) async throws -> String {
                var record = RunRecord(runId: runId, namespace: "dave", region: "us-west-2", expiresAt: expires)
                let name = a.ownership.launchTemplateName(runId: runId)
                record.launchTemplates = [name]
                try a.state.saveRun(record)
                _ = try await a.ec2.createLaunchTemplate(LaunchTemplateRequest(
                    name: name, imageId: "ami-0d3b1e4a5c6f70002", templateTags: a.ownership.tags(name: name, runId: runId, expires: expires)))
                return name
            }
            let interrupted = try await leave(runId: "20260101T000000-000001", expires: Date().addingTimeInterval(3600))
            try await a.terminateRun(runId: "20260101T000000-000001")
            #expect(try await a.ec2.describeLaunchTemplates(filters: a.ownership.filters).isEmpty, "\(interrupted) survived the teardown")
            #expect(a.state.loadRuns(region: "us-west-2", namespace: "dave").isEmpty)

            let expired = try await leave(runId: "20260101T000000-000002", expires: Date().addingTimeInterval(-60))
            let current = try await leave(runId: "20260101T000000-000003", expires: Date().addingTimeInterval(3600))
            let gc = try await a.terminateInstances(dryRun: false, expiredOnly: true)
            #expect(gc.launchTemplates.map(\.name) == [expired], "gc takes only what has expired")
            let plan = try await a.terminateInstances(dryRun: true)
            #expect(plan.lines == ["launch-template \(try #require(plan.launchTemplates.first).id) \(current)"])
            try await a.terminateInstances(dryRun: false)
            #expect(try await a.ec2.describeLaunchTemplates(filters: a.ownership.filters).isEmpty)
            #expect(a.state.loadRuns(region: "us-west-2", namespace: "dave").isEmpty, "records drop the deleted templates")
        }
    }

    @Test("a launch cancelled while CreateFleet is in flight deletes its launch template on the way out")
    func cancelledFleetDeletesTemplate() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            // Record the account state first, so the launch through the proxy starts with CreateLaunchTemplate.
            let direct = try TestClients.automation(moto.endpoint, namespace: "erin", stateDirectory: dir)
            try await direct.terminateRun(runId: try await direct.launch(request(count: 1)).run.runId)
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, "pass,hang"])
            defer { proxy.stop() }
            let a = try TestClients.automation(proxy.endpoint, namespace: "erin", stateDirectory: dir)
            let launch = Task { try await a.launch(request(count: 2)) }
            // The second request (CreateFleet) hangs: wait until the proxy holds it, then cancel.
            var seen = 0
            for _ in 0..<600 where seen < 2 {
                try await Task.sleep(for: .milliseconds(100))
                seen = Int(try await HTTPClient().send(HTTPRequest(method: "GET", url: proxy.endpoint + "/__count")).text) ?? -1
            }
            #expect(seen == 2, "the proxy never received CreateFleet")
            launch.cancel()
            let outcome = await launch.result
            #expect(throws: (any Error).self) { try outcome.get() }
            #expect(try await direct.ec2.describeLaunchTemplates(filters: direct.ownership.filters).isEmpty, "the template outlived the launch")
            let records = direct.state.loadRuns(region: "us-west-2", namespace: "erin")
            #expect(records.allSatisfy { ($0.launchTemplates ?? []).isEmpty }, "\(records)")
            try await direct.purge(dryRun: false)
        }
    }
}
