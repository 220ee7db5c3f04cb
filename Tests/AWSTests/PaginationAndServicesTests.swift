@testable import AWS
import Foundation
import Testing
import TestSupport

/// Every EC2, IAM and SSM call used, and pagination across pages, against moto.
@Suite("EC2, IAM and SSM calls against moto", .requires(Fixtures.moto))
struct PaginationAndServicesTests {
    @Test("DescribeInstances follows NextToken across pages")
    func ec2Pagination() async throws {
        try await withMoto { moto in
            let client = TestClients.client(moto.endpoint)
            let ec2 = EC2(client: client, pageSize: 5)
            // Separate reservations: moto pages by reservation.
            var launched: [String] = []
            for _ in 0..<12 {
                launched += try await ec2.runInstances(RunInstancesRequest(imageId: "ami-0d3b1e4a5c6f70002", instanceType: "t3.micro", count: 1)).map(\.id)
            }
            client.metrics.reset()
            let all = try await ec2.describeInstances()
            #expect(Set(all.map(\.id)) == Set(launched))
            #expect(client.metrics.snapshot["ec2:DescribeInstances"] == 3, "12 reservations in pages of 5")
        }
    }

    @Test("IAM list calls follow Marker across pages")
    func iamPagination() async throws {
        try await withMoto { moto in
            let client = TestClients.client(moto.endpoint)
            let iam = IAM(client: client, pageSize: 2)
            for i in 0..<5 {
                _ = try await iam.createRole(name: "r\(i)", path: "/hg-automation/p/", trustPolicy: AWSAutomation.trustPolicy, description: "t", tags: [])
            }
            _ = try await iam.createRole(name: "other", path: "/else/", trustPolicy: AWSAutomation.trustPolicy, description: "t", tags: [])
            client.metrics.reset()
            let roles = try await iam.listRoles(pathPrefix: "/hg-automation/p/")
            #expect(roles.map(\.name).sorted() == ["r0", "r1", "r2", "r3", "r4"])
            #expect((client.metrics.snapshot["iam:ListRoles"] ?? 0) >= 3)
        }
    }

    @Test("key pairs, security groups, images, instances: create, describe, stop, terminate, delete")
    func ec2Calls() async throws {
        try await withMoto { moto in
            let ec2 = EC2(client: TestClients.client(moto.endpoint))
            let key = try Ed25519KeyPair.generate()
            let tags = [ResourceTag("automation:tool", "hg-automation"), ResourceTag("automation:namespace", "t")]
            let pair = try await ec2.importKeyPair(name: "k1", publicKey: key.openSSHPublicKey(), tags: tags)
            #expect(pair.name == "k1")
            #expect(try await ec2.describeKeyPairs(filters: [EC2Filter("key-name", "k1")]).first?.tags.contains(tags[1]) == true)
            let group = try await ec2.createSecurityGroup(name: "g1", description: "d", tags: tags)
            try await ec2.authorizeSSH(groupId: group, cidr: "192.0.2.1/32", description: "me")
            try await ec2.authorizeSSH(groupId: group, cidr: "192.0.2.1/32", description: "me") // duplicate is fine
            #expect(try await ec2.describeSecurityGroups(ids: [group]).first?.sshCidrs == ["192.0.2.1/32"])
            let newest = try await ec2.newestImage(owner: "136693071363", namePattern: "debian-12-amd64-*")
            #expect(newest?.id == "ami-0d3b1e4a5c6f70002")
            #expect(try await ec2.newestImage(owner: "136693071363", namePattern: "debian-13-*") == nil)
            let instances = try await ec2.runInstances(RunInstancesRequest(imageId: newest!.id, instanceType: "t3.micro", count: 2, keyName: "k1",
                                                                           securityGroupIds: [group], userData: "#!/bin/sh\ntrue\n", tags: tags))
            #expect(instances.count == 2)
            #expect(Set(instances.map(\.launchIndex)) == [0, 1])
            let ids = instances.map(\.id)
            try await ec2.stopInstances([ids[0]])
            _ = try await ec2.waitForInstances([ids[0]], toBe: ["stopped"], timeout: .seconds(30), interval: .milliseconds(100))
            let image = try await ec2.createImage(instanceId: ids[0], name: "img-1", description: "d", tags: tags)
            let available = try await ec2.waitForImage(image, timeout: .seconds(30), interval: .milliseconds(100))
            #expect(available.tag("automation:namespace") == "t")
            try await ec2.createTags(available.snapshotIds, tags: tags)
            try await ec2.deregisterImage(image)
            for s in available.snapshotIds { try await ec2.deleteSnapshot(s) }
            #expect(try await ec2.describeImages(owners: ["self"]).isEmpty)
            try await ec2.terminateInstances(ids)
            let gone = try await ec2.waitForInstances(ids, toBe: ["terminated"], timeout: .seconds(30), interval: .milliseconds(100))
            #expect(gone.allSatisfy { $0.state == "terminated" })
            try await ec2.deleteSecurityGroup(id: group)
            try await ec2.deleteKeyPair(name: "k1")
            #expect(try await ec2.describeKeyPairs().isEmpty)
        }
    }

    @Test("IAM role with trust policy, managed policy and instance profile")
    func iamCalls() async throws {
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let iam = IAM(client: TestClients.client(moto.endpoint))
            let role = try await iam.createRole(name: "role1", path: "/hg-automation/t/", trustPolicy: AWSAutomation.trustPolicy, description: "d",
                                                tags: [ResourceTag("automation:namespace", "t")])
            #expect(role.arn.hasSuffix("role/hg-automation/t/role1"))
            try await iam.attachRolePolicy(role: "role1", policyArn: AWSAutomation.ssmPolicyArn)
            #expect(try await iam.listAttachedRolePolicies(role: "role1") == [AWSAutomation.ssmPolicyArn])
            _ = try await iam.createInstanceProfile(name: "prof1", path: "/hg-automation/t/", tags: [])
            try await iam.addRoleToInstanceProfile(profile: "prof1", role: "role1")
            #expect(try await iam.getInstanceProfile(name: "prof1")?.roleNames == ["role1"])
            #expect(try await iam.getInstanceProfile(name: "missing") == nil)
            #expect(try await iam.listInstanceProfiles(pathPrefix: "/hg-automation/t/").map(\.name) == ["prof1"])
            try await iam.removeRoleFromInstanceProfile(profile: "prof1", role: "role1")
            try await iam.deleteInstanceProfile(name: "prof1")
            try await iam.detachRolePolicy(role: "role1", policyArn: AWSAutomation.ssmPolicyArn)
            try await iam.deleteRole(name: "role1")
            #expect(try await iam.getRole(name: "role1") == nil)
        }
    }

    @Test("SSM send-command and get-command-invocation as moto serves them; describe-instance-information errors are surfaced")
    func ssmCalls() async throws {
        try await withMoto { moto in
            let client = TestClients.client(moto.endpoint, retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(5), maxDelay: .milliseconds(10)))
            let ec2 = EC2(client: client)
            let ssm = SSM(client: client)
            let id = try await ec2.runInstances(RunInstancesRequest(imageId: "ami-0d3b1e4a5c6f70002", instanceType: "t3.micro", count: 1))[0].id
            let command = try await ssm.sendCommand(instanceIds: [id], commands: ["echo hello"], comment: "test")
            #expect(!command.isEmpty)
            let invocation = try await ssm.waitForInvocation(commandId: command, instanceId: id, timeout: .seconds(10), interval: .milliseconds(100))
            #expect(invocation.status == "Success")
            // moto 5.2 answers DescribeInstanceInformation with HTTP 500; the error must reach the caller intact.
            do {
                let info = try await ssm.describeInstanceInformation(instanceIds: [id])
                #expect(info[id] == nil || info[id] == "Online")
            } catch let error as AWSError {
                #expect(error.httpStatus == 500)
                #expect(error.description.contains("ssm DescribeInstanceInformation"))
            }
            #expect(try await ssm.getParameter("/aws/service/debian/release/12/latest/amd64") == nil)
        }
    }
}
