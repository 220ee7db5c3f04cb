@testable import AWS
import Foundation
import Testing

/// `--root-volume-size` resizes the image's own root volume, whatever its device name.
@Suite("Root volume size against moto", .enabled(if: Fixtures.runMotoTests, Comment(rawValue: Fixtures.missingMoto)))
struct RootVolumeTests {
    @Test("the block device mapping names the image's RootDeviceName (/dev/xvda on Debian, /dev/sda1 on Ubuntu)",
          arguments: [("debian12", "/dev/xvda"), ("ubuntu24.04", "/dev/sda1")])
    func rootDeviceFromImage(_ distro: String, _ device: String) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "rootvol", stateDirectory: dir)
            let result = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", distro: try Distro.named(distro),
                                                          ttl: .seconds(600), sshCidr: "198.51.100.7/32", rootVolumeSize: 23))
            let id = try #require(result.run.instances.first?.id)
            var p = QueryParameters()
            p.filters([EC2Filter("attachment.instance-id", id)])
            let volumes = try await a.client.query(.ec2, "DescribeVolumes", p).list("volumeSet")
            // One volume: the image's root, resized. A wrong device name would add a second, blank volume.
            #expect(volumes.count == 1, "volumes: \(volumes.map { ($0.string("size") ?? "", $0.list("attachmentSet").first?.string("device") ?? "") })")
            #expect(volumes.first?.list("attachmentSet").first?.string("device") == device)
            #expect(volumes.first?.string("size") == "23")
            try await a.purge(dryRun: false)
        }
    }
}
