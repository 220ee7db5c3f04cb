@testable import AWS
import Foundation
import Testing
import TestSupport

/// `--root-volume-size` resizes the image's own root volume, whatever its device name;
/// `--workdir-volume-size` adds the empty disk prepare-workdir puts /hgwork on.
@Suite("Root and workdir volumes against moto", .requires(Fixtures.moto))
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
            _ = try await a.purge(dryRun: false)
        }
    }

    @Test("--workdir-volume-size attaches one extra empty volume at /dev/sdf, with or without a root size",
          arguments: [nil, 20] as [Int?])
    func workdirVolume(_ rootSize: Int?) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "workvol", stateDirectory: dir)
            var request = LaunchRequest(count: 1, instanceType: "t3.micro", distro: try Distro.named("debian12"),
                                        ttl: .seconds(600), sshCidr: "198.51.100.7/32", rootVolumeSize: rootSize)
            request.workdirVolumeSize = 9
            let result = try await a.launch(request)
            let id = try #require(result.run.instances.first?.id)
            var p = QueryParameters()
            p.filters([EC2Filter("attachment.instance-id", id)])
            let volumes = try await a.client.query(.ec2, "DescribeVolumes", p).list("volumeSet")
            let byDevice = Dictionary(volumes.map { ($0.list("attachmentSet").first?.string("device") ?? "", $0.string("size") ?? "") },
                                      uniquingKeysWith: { first, _ in first })
            #expect(byDevice["/dev/sdf"] == "9", "\(byDevice)")
            // EC2 keeps an unmapped root from the image; moto creates volumes only for the mappings given.
            if let rootSize {
                #expect(volumes.count == 2, "\(byDevice)")
                #expect(byDevice["/dev/xvda"] == String(rootSize))
            }
            _ = try await a.purge(dryRun: false)
        }
    }
}
