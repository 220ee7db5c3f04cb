@testable import AWS
import Foundation
import Testing
import TestSupport

/// Launch, terminate, purge and gc against moto: tags, namespaces and local records.
@Suite("Ownership and cleanup against moto", .requires(Fixtures.moto))
struct OwnershipTests {
    let cidr = "198.51.100.7/32"

    @Test("launch tags instances and volumes, pins host keys, and uses terminate-on-shutdown")
    func launchTagsEverything() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let metrics = AWSCallMetrics()
            let a = try TestClients.automation(moto.endpoint, namespace: "alice", stateDirectory: dir, metrics: metrics)
            let result = try await a.launch(LaunchRequest(count: 3, instanceType: "t3.micro", distro: try Distro.named("debian12"), ttl: .seconds(3600), sshCidr: cidr))
            #expect(result.run.instances.count == 3)
            #expect(metrics.snapshot["ec2:RunInstances"] == 1, "all instances launch in one call")
            let instances = try await a.ec2.describeInstances(ids: result.run.instances.map(\.id))
            for instance in instances {
                #expect(instance.state == "running")
                #expect(instance.imageId == "ami-0d3b1e4a5c6f70002", "newest Debian 12 amd64 image of the Debian account")
                #expect(instance.tag(Ownership.namespaceKey) == "alice")
                #expect(instance.tag(Ownership.toolKey) == Ownership.toolValue)
                #expect(instance.tag(Ownership.runKey) == result.run.runId)
                #expect(instance.tag(Ownership.expiresKey) != nil)
                #expect(instance.tag("Name")?.hasPrefix("hg-alice-") == true)
                var p = QueryParameters()
                p.set("InstanceId", instance.id)
                p.set("Attribute", "instanceInitiatedShutdownBehavior")
                let behaviour = try await a.client.query(.ec2, "DescribeInstanceAttribute", p).string("instanceInitiatedShutdownBehavior/value")
                #expect(behaviour == "terminate")
                p = QueryParameters()
                p.set("InstanceId", instance.id)
                p.set("Attribute", "userData")
                let encoded = try await a.client.query(.ec2, "DescribeInstanceAttribute", p).string("userData/value") ?? ""
                let userData = String(decoding: Data(base64Encoded: encoded) ?? Data(), as: UTF8.self)
                let recorded = try #require(result.run.instances.first { $0.id == instance.id })
                #expect(userData.contains("\(instance.launchIndex)) KEY='"), "user data carries a key for launch index \(instance.launchIndex)")
                #expect(userData.contains("PUB='\(recorded.hostPublicKey)'"), "the recorded host key is the one for this launch index")
            }
            let volumes = try await a.client.query(.ec2, "DescribeVolumes", {
                var p = QueryParameters(); p.filters([EC2Filter("tag:\(Ownership.namespaceKey)", "alice")]); return p }())
            #expect(volumes.list("volumeSet").count == 3, "root volumes carry the ownership tags too")
            let group = try #require(try await a.ec2.describeSecurityGroups(filters: a.ownership.filters).first)
            #expect(group.sshCidrs == [cidr], "SSH only from the caller's range, never 0.0.0.0/0")
            let known = try String(contentsOf: a.state.knownHostsFile, encoding: .utf8)
            for i in result.run.instances { #expect(known.contains("\(i.publicIp!) \(i.hostPublicKey)")) }
            let key = a.state.clientKeyPath(namespace: "alice")
            let mode = try FileManager.default.attributesOfItem(atPath: key.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            try await a.purge(dryRun: false)
        }
    }

    @Test("a second launch trusts the recorded account state: no describe or create calls")
    func accountStateIsCheap() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let metrics = AWSCallMetrics()
            let a = try TestClients.automation(moto.endpoint, namespace: "alice", stateDirectory: dir, metrics: metrics)
            _ = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            metrics.reset()
            _ = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            #expect(Set(metrics.snapshot.keys) == ["ec2:RunInstances", "ec2:DescribeInstances"], "got \(metrics.snapshot)")
            // A stale record (security group deleted behind our back) heals itself on RunInstances failure.
            try await a.terminateInstances(dryRun: false)
            let group = try #require(a.state.loadAccount(region: "us-west-2", namespace: "alice")).securityGroupId
            try await a.ec2.deleteSecurityGroup(id: group)
            let healed = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            #expect(healed.account.securityGroupId != group)
            try await a.purge(dryRun: false)
        }
    }

    /// What someone may delete behind the tool's back while the local record still vouches for it.
    enum Deleted: String, CaseIterable, Sendable { case instanceProfile, keyPair, securityGroup }

    @Test("a resource the cached record vouches for is gone: one re-check recreates it and the launch goes on", arguments: Deleted.allCases)
    func staleRecordIsRechecked(deleted: Deleted) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let metrics = AWSCallMetrics()
            let a = try TestClients.automation(moto.endpoint, namespace: "alice", stateDirectory: dir, metrics: metrics)
            let first = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            try await a.terminateInstances(dryRun: false)
            switch deleted {
            case .instanceProfile:
                let profile = try #require(first.account.instanceProfileName)
                try await a.iam.removeRoleFromInstanceProfile(profile: profile, role: a.ownership.roleName)
                try await a.iam.deleteInstanceProfile(name: profile)
            case .keyPair:
                try await a.ec2.deleteKeyPair(name: first.account.keyPairName)
            case .securityGroup:
                try await a.ec2.deleteSecurityGroup(id: first.account.securityGroupId)
            }
            metrics.reset()
            // Two targets of one run launching at once share the one re-check.
            async let one = a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            async let two = a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            let (healed, other) = try await (one, two)
            #expect(healed.run.instances.count == 1 && other.run.instances.count == 1)
            #expect(metrics.snapshot["ec2:DescribeKeyPairs"] == 1, "one re-check of the account, got \(metrics.snapshot)")
            #expect(metrics.snapshot["ec2:RunInstances"] == 4, "each launch refused once, then launched: \(metrics.snapshot)")
            let instances = try await a.ec2.describeInstances(ids: (healed.run.instances + other.run.instances).map(\.id))
            #expect(instances.allSatisfy { $0.state == "running" })
            switch deleted {
            case .instanceProfile:
                #expect(try await a.iam.getInstanceProfile(name: a.ownership.instanceProfileName)?.roleNames == [a.ownership.roleName])
            case .keyPair:
                #expect(try await a.ec2.describeKeyPairs(filters: [EC2Filter("key-name", first.account.keyPairName)]).count == 1)
            case .securityGroup:
                #expect(healed.account.securityGroupId != first.account.securityGroupId)
                #expect(healed.account.securityGroupId == other.account.securityGroupId, "one group, not one per launch")
            }
            try await a.terminateInstances(dryRun: false)
            try await a.purge(dryRun: false)
        }
    }

    @Test("terminate and purge with --dry-run leave the local run records exactly as they were")
    func dryRunKeepsRecords() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "alice", stateDirectory: dir)
            let ended = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            let live = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            // One instance ended by itself (its lifetime ran out): its record is what a cleanup would forget.
            let endedIds = ended.run.instances.map(\.id)
            try await a.ec2.terminateInstances(endedIds)
            _ = try await a.ec2.waitForInstances(endedIds, toBe: ["terminated"], timeout: .seconds(60), interval: .milliseconds(200))
            let runsDirectory = a.state.runsDirectory(region: a.region, namespace: "alice")
            let files = { try FileManager.default.contentsOfDirectory(atPath: runsDirectory.path).sorted().map {
                try Data(contentsOf: runsDirectory.appendingPathComponent($0)) } }
            let recorded = try files()
            let before = a.state.loadRuns(region: a.region, namespace: "alice").map(\.runId).sorted()
            #expect(before == [ended.run.runId, live.run.runId].sorted())
            let terminatePlan = try await a.terminateInstances(dryRun: true)
            #expect(terminatePlan.instances.map(\.id) == live.run.instances.map(\.id))
            _ = try await a.purge(dryRun: true)
            _ = try await a.terminateInstances(dryRun: true, expiredOnly: true)
            #expect(a.state.loadRuns(region: a.region, namespace: "alice").map(\.runId).sorted() == before, "a dry run forgot records")
            #expect(try files() == recorded, "a dry run rewrote a record")
            _ = try await a.terminateInstances(dryRun: false)
            #expect(a.state.loadRuns(region: a.region, namespace: "alice").isEmpty, "the real run forgets both")
            try await a.purge(dryRun: false)
        }
    }

    @Test("without an instance profile, launch makes no IAM calls at all")
    func launchWithoutIAM() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto { moto in
            let metrics = AWSCallMetrics()
            var a = try TestClients.automation(moto.endpoint, namespace: "carol", stateDirectory: dir, metrics: metrics)
            a.useInstanceProfile = false
            let run = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            #expect(run.account.instanceProfileName == nil)
            #expect(!metrics.snapshot.keys.contains { $0.hasPrefix("iam:") }, "calls: \(metrics.snapshot)")
            try await a.purge(dryRun: false)
        }
    }

    @Test("two namespaces in one account never touch each other's resources")
    func namespacesAreIsolated() async throws {
        let dirA = try Fixtures.temporaryDirectory(), dirB = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "alice", stateDirectory: dirA)
            let b = try TestClients.automation(moto.endpoint, namespace: "bob", stateDirectory: dirB)
            let runA = try await a.launch(LaunchRequest(count: 2, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            let runB = try await b.launch(LaunchRequest(count: 2, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: "203.0.113.9/32"))
            let before = try await AccountSnapshot.take(b.client)
            let planA = try await a.purgePlan()
            #expect(Set(planA.instances.map(\.id)) == Set(runA.run.instances.map(\.id)))
            #expect(planA.roles.map(\.name) == ["hg-alice-ephemeral-ec2-role-1"])
            try await a.terminateInstances(dryRun: false)
            try await a.purge(dryRun: false)
            let after = try await AccountSnapshot.take(b.client)
            #expect(after.liveInstances == Set(runB.run.instances.map(\.id)))
            #expect(before.securityGroups.subtracting(after.securityGroups) == [runA.account.securityGroupId])
            #expect(after.keyPairs == [runB.account.keyPairName])
            #expect(after.roles == ["hg-bob-ephemeral-ec2-role-1"])
            #expect(after.instanceProfiles == ["hg-bob-ephemeral-ec2-1"])
            // B's own record still works and B cleans up its own.
            let planB = try await b.purge(dryRun: false)
            #expect(planB.instances.count == 2)
        }
    }

    @Test("launch, create image, terminate and purge leave the account exactly as it was")
    func purgeRestoresAccount() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "alice", stateDirectory: dir)
            // Unrelated resources, including ones with the old tool's hg- names, must survive.
            let foreignGroup = try await a.ec2.createSecurityGroup(name: "hg-linux-dev-1", description: "the original tool's group", tags: [])
            _ = try await a.ec2.importKeyPair(name: "hg-automation", publicKey: try Ed25519KeyPair.generate().openSSHPublicKey(), tags: [])
            let foreign = try await a.ec2.runInstances(RunInstancesRequest(imageId: "ami-0d3b1e4a5c6f70002", instanceType: "t3.micro", count: 1,
                                                                           tags: [ResourceTag("Name", "hg-temp-linux")]))
            _ = try await IAM(client: a.client).createRole(name: "hg-ephemeral-ec2-role-1", path: "/", trustPolicy: AWSAutomation.trustPolicy, description: "old", tags: [])
            let before = try await AccountSnapshot.take(a.client)

            let run = try await a.launch(LaunchRequest(count: 2, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            let imageId = try await a.createImage(from: run.run.instances[0].id, runId: run.run.runId, name: "hg-alice-linux-dev-debian12-test")
            let image = try #require(try await a.ec2.describeImages(ids: [imageId]).first)
            #expect(image.tag(Ownership.namespaceKey) == "alice")
            let dry = try await a.purge(dryRun: true)
            #expect(dry.images.map(\.id) == [imageId])
            #expect(Set(dry.instances.map(\.id)) == Set(run.run.instances.map(\.id)))
            #expect(!dry.snapshots.isEmpty)
            #expect(!dry.securityGroups.contains { $0.id == foreignGroup })
            #expect(try await AccountSnapshot.take(a.client) != before, "dry run changed nothing")

            let terminated = try await a.terminateInstances(dryRun: false)
            #expect(Set(terminated.instances.map(\.id)) == Set(run.run.instances.map(\.id)))
            #expect(!terminated.instances.contains { $0.id == foreign[0].id })
            try await a.purge(dryRun: false)
            let after = try await AccountSnapshot.take(a.client)
            #expect(after == before, "before: \(before)\nafter: \(after)")
            #expect(try await a.purgePlan().isEmpty)
        }
    }

    @Test("cleanup finds instances from the local record when their tags are gone")
    func cleanupFromRecord() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "alice", stateDirectory: dir)
            let run = try await a.launch(LaunchRequest(count: 2, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(600), sshCidr: cidr))
            var p = QueryParameters()
            p.list("ResourceId", run.run.instances.map(\.id))
            for (i, key) in [Ownership.toolKey, Ownership.namespaceKey, Ownership.runKey, Ownership.expiresKey, "Name"].enumerated() {
                p.set("Tag.\(i + 1).Key", key)
            }
            _ = try await a.client.query(.ec2, "DeleteTags", p)
            #expect(try await a.ec2.describeInstances(filters: a.ownership.filters + [EC2Filter("instance-state-name", "running")]).isEmpty)
            let dry = try await a.terminateInstances(dryRun: true)
            #expect(Set(dry.instances.map(\.id)) == Set(run.run.instances.map(\.id)))
            try await a.terminateInstances(dryRun: false)
            let states = try await a.ec2.describeInstances(ids: run.run.instances.map(\.id)).map(\.state)
            #expect(states == ["terminated", "terminated"])
            #expect(a.state.loadRuns(region: "us-west-2", namespace: "alice").isEmpty, "records of finished runs are dropped")
            try await a.purge(dryRun: false)
        }
    }

    @Test("gc terminates only instances past their expiry")
    func gcTerminatesExpired() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "alice", stateDirectory: dir)
            let short = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(1), sshCidr: cidr))
            let long = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: "ami-0d3b1e4a5c6f70002", ttl: .seconds(3600), sshCidr: cidr))
            let later = Date().addingTimeInterval(5)
            let plan = try await a.terminateInstances(dryRun: false, expiredOnly: true, now: later)
            #expect(plan.instances.map(\.id) == short.run.instances.map(\.id))
            let states = try await a.ec2.describeInstances(ids: [short.run.instances[0].id, long.run.instances[0].id]).map(\.state)
            #expect(states == ["terminated", "running"])
            try await a.purge(dryRun: false)
        }
    }
}
