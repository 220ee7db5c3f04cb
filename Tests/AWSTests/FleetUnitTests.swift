@testable import AWS
import Foundation
import Testing

/// CreateLaunchTemplate, CreateFleet and DescribeSpotPriceHistory without a server: the
/// parameters (as botocore 1.x serializes the same input) and the answers, good and bad.
@Suite("EC2 Fleet and spot price requests and responses")
struct FleetUnitTests {
    static func pairs(_ p: QueryParameters) -> [String: String] {
        Dictionary(p.pairs, uniquingKeysWith: { a, _ in a })
    }

    @Test("CreateLaunchTemplate parameters match botocore's serialization")
    func launchTemplateParameters() {
        let tags = [ResourceTag("a", "b")]
        let request = LaunchTemplateRequest(name: "nnn", imageId: "ami-1", keyName: "k", securityGroupIds: ["sg-1"], instanceProfileName: "p",
                                            userData: "us", instanceTags: tags, templateTags: tags, clientToken: "t",
                                            rootVolumeSize: 8, rootDeviceName: "/dev/xvda")
        let p = EC2.createLaunchTemplateParameters(request)
        // botocore: serialize_to_request of the same input (LaunchTemplateData.TagSpecifications for instance and volume).
        let expected: [String: String] = [
            "ClientToken": "t", "LaunchTemplateName": "nnn",
            "LaunchTemplateData.BlockDeviceMapping.1.DeviceName": "/dev/xvda", "LaunchTemplateData.BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true",
            "LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeSize": "8", "LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeType": "gp3",
            "LaunchTemplateData.IamInstanceProfile.Name": "p", "LaunchTemplateData.ImageId": "ami-1",
            "LaunchTemplateData.InstanceInitiatedShutdownBehavior": "terminate", "LaunchTemplateData.KeyName": "k",
            "LaunchTemplateData.SecurityGroupId.1": "sg-1",
            "LaunchTemplateData.TagSpecification.1.ResourceType": "instance", "LaunchTemplateData.TagSpecification.1.Tag.1.Key": "a",
            "LaunchTemplateData.TagSpecification.1.Tag.1.Value": "b",
            "LaunchTemplateData.TagSpecification.2.ResourceType": "volume", "LaunchTemplateData.TagSpecification.2.Tag.1.Key": "a",
            "LaunchTemplateData.TagSpecification.2.Tag.1.Value": "b",
            "LaunchTemplateData.UserData": "dXM=",
            "TagSpecification.1.ResourceType": "launch-template", "TagSpecification.1.Tag.1.Key": "a", "TagSpecification.1.Tag.1.Value": "b",
        ]
        #expect(Self.pairs(p) == expected)
        #expect(p.pairs.count == expected.count)
    }

    @Test("CreateFleet parameters: instant, spot price-capacity-optimized or on-demand lowest-price, one override per type")
    func fleetParameters() {
        let spot = EC2.createFleetParameters(FleetRequest(launchTemplateId: "lt-1", instanceTypes: ["c5.9xlarge", "c5d.9xlarge"], count: 2,
                                                           capacity: .spot, tags: [ResourceTag("a", "b")], clientToken: "t"))
        #expect(Self.pairs(spot) == [
            "ClientToken": "t", "LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId": "lt-1",
            "LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version": "1",
            "LaunchTemplateConfigs.1.Overrides.1.InstanceType": "c5.9xlarge", "LaunchTemplateConfigs.1.Overrides.2.InstanceType": "c5d.9xlarge",
            "SpotOptions.AllocationStrategy": "price-capacity-optimized", "SpotOptions.InstanceInterruptionBehavior": "terminate",
            "TagSpecification.1.ResourceType": "fleet", "TagSpecification.1.Tag.1.Key": "a", "TagSpecification.1.Tag.1.Value": "b",
            "TargetCapacitySpecification.DefaultTargetCapacityType": "spot", "TargetCapacitySpecification.TotalTargetCapacity": "2",
            "Type": "instant",
        ])
        let onDemand = Self.pairs(EC2.createFleetParameters(FleetRequest(launchTemplateId: "lt-1", instanceTypes: ["t3.micro"], count: 1,
                                                                         capacity: .onDemand)))
        #expect(onDemand["OnDemandOptions.AllocationStrategy"] == "lowest-price")
        #expect(onDemand["TargetCapacitySpecification.DefaultTargetCapacityType"] == "on-demand")
        #expect(onDemand["SpotOptions.AllocationStrategy"] == nil)
    }

    @Test("DescribeSpotPriceHistory asks for Linux/UNIX prices in effect now")
    func spotPriceParameters() {
        let now = Date(timeIntervalSince1970: 1_767_225_600)
        #expect(Self.pairs(EC2.spotPriceParameters(instanceTypes: ["c5.9xlarge", "t3.micro"], now: now)) == [
            "InstanceType.1": "c5.9xlarge", "InstanceType.2": "t3.micro", "ProductDescription.1": "Linux/UNIX", "StartTime": "2026-01-01T00:00:00Z",
        ])
    }

    @Test("an instant fleet's answer: instances with their lifecycle, and the errors for what it could not launch")
    func parsesFleetAnswer() throws {
        // The shape of EC2's CreateFleet response (API reference), with both sets.
        let xml = try AWSXMLParser.parse(Array("""
            <CreateFleetResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>
            <fleetId>fleet-1</fleetId>
            <errorSet><item><launchTemplateAndOverrides><launchTemplateSpecification><launchTemplateId>lt-1</launchTemplateId>
            <version>1</version></launchTemplateSpecification><overrides><instanceType>c5d.9xlarge</instanceType></overrides>
            </launchTemplateAndOverrides><lifecycle>spot</lifecycle><errorCode>InsufficientInstanceCapacity</errorCode>
            <errorMessage>There is no Spot capacity available that matches your request.</errorMessage></item></errorSet>
            <fleetInstanceSet><item><launchTemplateAndOverrides><overrides><instanceType>c5.9xlarge</instanceType></overrides>
            </launchTemplateAndOverrides><lifecycle>spot</lifecycle><instanceIds><item>i-0a</item><item>i-0b</item></instanceIds>
            <instanceType>c5.9xlarge</instanceType></item></fleetInstanceSet></CreateFleetResponse>
            """.utf8))
        let result = try FleetResult(xml)
        #expect(result.fleetId == "fleet-1")
        #expect(result.instances == [.init(id: "i-0a", instanceType: "c5.9xlarge", lifecycle: "spot"),
                                     .init(id: "i-0b", instanceType: "c5.9xlarge", lifecycle: "spot")])
        #expect(result.errors.count == 1)
        #expect(result.errors[0].description == "InsufficientInstanceCapacity (c5d.9xlarge spot): There is no Spot capacity available that matches your request.")
        let bad = try AWSXMLParser.parse(Array("<r><fleetInstanceSet><item><instanceIds><item>sir-1</item></instanceIds></item></fleetInstanceSet></r>".utf8))
        #expect(throws: AutomationAWSError.self) { try FleetResult(bad) }
    }

    @Test("spot prices: the latest per zone, the cheapest per type, and only plausible numbers", arguments: ["abc", "-0.5", "0", "1e9", "nan", "inf", ""])
    func spotPrices(bad: String) throws {
        func item(_ type: String, _ zone: String, _ price: String, _ time: String) throws -> SpotPrice {
            try SpotPrice(try AWSXMLParser.parse(Array("""
                <item><availabilityZone>\(zone)</availabilityZone><instanceType>\(type)</instanceType>
                <productDescription>Linux/UNIX</productDescription><spotPrice>\(price)</spotPrice><timestamp>\(time)</timestamp></item>
                """.utf8)))
        }
        let prices = [
            try item("c5.9xlarge", "us-east-1a", "0.9000", "2026-01-01T00:00:00.000Z"),
            try item("c5.9xlarge", "us-east-1a", "0.5000", "2026-01-02T00:00:00.000Z"),
            try item("c5.9xlarge", "us-east-1b", "0.6000", "2026-01-02T00:00:00.000Z"),
            try item("c5d.9xlarge", "us-east-1b", "0.4000", "2025-12-30T00:00:00.000Z"),
        ]
        let latest = SpotPrice.latest(prices)
        #expect(latest.map(\.price) == [0.5, 0.6, 0.4], "the 1a price moved from 0.90 to 0.50")
        let cheapest = SpotPrice.cheapest(prices)
        #expect(cheapest["c5.9xlarge"]?.availabilityZone == "us-east-1a")
        #expect(cheapest["c5d.9xlarge"]?.price == 0.4)
        #expect(throws: AutomationAWSError.self, "\(bad)") { try item("c5.9xlarge", "us-east-1a", bad, "2026-01-01T00:00:00.000Z") }
    }

    @Test("fleet user data installs one host key whatever the launch index, and is valid sh")
    func sharedHostKeyUserData() throws {
        let key = try Ed25519KeyPair.generate()
        let text = UserData.boothook(sharedHostKey: key, expiresAt: Date(timeIntervalSince1970: 2_000_000_000))
        #expect(text.components(separatedBy: "*) KEY='").count == 2)
        #expect(!text.contains("0) KEY="))
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("boothook-\(UUID().uuidString).sh")
        try Data(text.utf8).write(to: script)
        defer { try? FileManager.default.removeItem(at: script) }
        // The case statement alone, run for launch indexes 0 and 3: both pick the same key.
        let caseBlock = text.components(separatedBy: "\n").drop { !$0.hasPrefix("case ") }.prefix { !$0.hasPrefix("esac") }.joined(separator: "\n") + "\nesac\necho \"$PUB\"\n"
        for index in ["0", "3"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "INDEX=\(index)\n" + caseBlock]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(String(decoding: data, as: UTF8.self) == key.openSSHPublicKey() + "\n", "launch index \(index)")
        }
        let syntax = Process()
        syntax.executableURL = URL(fileURLWithPath: "/bin/sh")
        syntax.arguments = ["-n", script.path]
        try syntax.run()
        syntax.waitUntilExit()
        #expect(syntax.terminationStatus == 0)
        let document = try UserData.render(sharedHostKey: key, expiresAt: Date())
        #expect(document.utf8.count < 16 * 1024)
    }

    @Test("launch template names: what EC2 accepts")
    func templateNames() {
        #expect(LaunchTemplateRequest.isValidName("hg-alice-20261130T095605-411164"))
        #expect(!LaunchTemplateRequest.isValidName("ab"))
        #expect(!LaunchTemplateRequest.isValidName("hg alice"))
        #expect(!LaunchTemplateRequest.isValidName(String(repeating: "a", count: 129)))
    }

    @Test("records written before --spot still load")
    func oldRecordsLoad() throws {
        let old = #"{"runId":"r","namespace":"n","region":"us-east-1","createdAt":0,"clientTokens":[],"images":[],"snapshots":[],"pendingHostKeys":[],"instances":[{"id":"i-1","launchIndex":0,"hostPublicKey":"k","hostKeyFingerprint":"f"}]}"#
        let record = try JSONDecoder().decode(RunRecord.self, from: Data(old.utf8))
        #expect(record.launchTemplates == nil)
        #expect(record.instances.first?.lifecycle == nil)
    }
}
