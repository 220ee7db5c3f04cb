@testable import AutomationKit
@testable import AWS
import Foundation
import Logging
import Testing
import TestSupport

/// Dev images against moto, with the builder's bootstrap run for real on a
/// stock Debian 12 host through the agent (Support/BuilderHost.swift).
@Suite("Dev images against moto", .serialized,
       .requires(Fixtures.moto), .requires(BuilderHost.requirement))
struct DevImageTests {
    static func script(_ body: String) -> RemoteScript {
        RemoteScript(name: "bootstrap.sh", text: "#!/bin/sh\nset -eu\n\(body)\necho 'bootstrap: done'\n")
    }

    static func builder(_ a: AWSAutomation, host: BuilderHost, state: URL, script: RemoteScript, keep: Int = 0) throws -> DevImageBuilder {
        DevImageBuilder(automation: a, script: script, arguments: ["--authorized-key", "ssh-ed25519 AAAA test"],
                        instanceType: "t3.micro", rootVolumeSize: 12, keep: keep, builderTTL: .seconds(3600),
                        sshCidr: "198.51.100.7/32", connect: try host.connector(state: state), logger: Logger(label: "test"))
    }

    static func liveInstances(_ a: AWSAutomation) async throws -> [EC2Instance] {
        try await a.ec2.describeInstances(filters: a.ownership.filters).filter { $0.state != "terminated" }
    }

    @Test("builds a tagged image on a builder it terminates, reuses it by fingerprint, and a changed script replaces it")
    func buildReuseReplace() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let host = try BuilderHost()
        defer { host.stop() }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let metrics = AWSCallMetrics()
            let a = try TestClients.automation(moto.endpoint, namespace: "imgs", stateDirectory: dir, metrics: metrics)
            let debian = try Distro.named("debian12")
            let first = try Self.builder(a, host: host, state: dir, script: Self.script("echo one > /root/marker"))
            let built = try await first.ensure(debian, prefix: nil, interrupts: nil)
            #expect(!built.reused)
            #expect(try String(contentsOf: host.written("/root/marker"), encoding: .utf8) == "one\n", "the script ran on the builder as root")
            let image = try #require(try await a.ec2.describeImages(ids: [built.imageId]).first)
            #expect(image.tag(AWSAutomation.fingerprintKey) == built.fingerprint)
            #expect(image.tag(AWSAutomation.distroKey) == "debian12")
            #expect(image.tag(Ownership.namespaceKey) == "imgs")
            #expect(image.name == a.devImageName(distro: "debian12", fingerprint: built.fingerprint))
            #expect(try await Self.liveInstances(a).isEmpty, "the builder is terminated")
            #expect(metrics.snapshot["ec2:RunInstances"] == 1)
            #expect(metrics.snapshot["ec2:CreateImage"] == 1)

            let again = try await first.ensure(debian, prefix: nil, interrupts: nil)
            #expect(again == DevImageBuilder.Outcome(distro: "debian12", imageId: built.imageId, fingerprint: built.fingerprint, reused: true, removed: []))
            #expect(metrics.snapshot["ec2:RunInstances"] == 1, "a reused image launches nothing")

            let second = try Self.builder(a, host: host, state: dir, script: Self.script("echo two > /root/marker"))
            let rebuilt = try await second.ensure(debian, prefix: nil, interrupts: nil)
            #expect(!rebuilt.reused)
            #expect(rebuilt.fingerprint != built.fingerprint)
            #expect(rebuilt.removed == [built.imageId], "keep 0: the older image goes")
            #expect(try await a.ec2.describeImages(ids: [built.imageId]).allSatisfy { $0.state != "available" })
            for snapshot in image.snapshotIds {
                var p = QueryParameters()
                p.list("SnapshotId", [snapshot])
                await #expect(throws: AWSError.self, "snapshot \(snapshot) of the old image is deleted") {
                    _ = try await a.client.query(.ec2, "DescribeSnapshots", p)
                }
            }
            #expect(try await a.devImages(distro: "debian12").map(\.id) == [rebuilt.imageId])
            #expect(try await Self.liveInstances(a).isEmpty)
            _ = try await a.purge(dryRun: false)
        }
    }

    @Test("a failing bootstrap terminates the builder and makes no image")
    func failureTerminates() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let host = try BuilderHost()
        defer { host.stop() }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "imgfail", stateDirectory: dir)
            let builder = try Self.builder(a, host: host, state: dir, script: Self.script("echo failing >&2; exit 3"))
            await #expect {
                _ = try await builder.ensure(try Distro.named("debian12"), prefix: nil, interrupts: nil)
            } throws: { error in
                "\(error)".contains("bootstrap.sh failed on builder") && "\(error)".contains("status 3")
            }
            #expect(try await Self.liveInstances(a).isEmpty, "the builder is terminated")
            #expect(try await a.devImages(distro: "debian12").isEmpty)
            _ = try await a.purge(dryRun: false)
        }
    }

    @Test("cancelling (Ctrl-C) during the bootstrap terminates the builder and stops the script")
    func cancellationTerminates() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let host = try BuilderHost()
        defer { host.stop() }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "imgint", stateDirectory: dir)
            let builder = try Self.builder(a, host: host, state: dir, script: Self.script("touch /root/started; sleep 600; touch /root/finished"))
            let work = Task { try await builder.ensure(try Distro.named("debian12"), prefix: nil, interrupts: nil) }
            // Hang detector only: the script starts within seconds.
            try #require(await eventually(within: 300) { FileManager.default.fileExists(atPath: host.written("/root/started").path) },
                         "the script never started")
            #expect(try await Self.liveInstances(a).count == 1, "the builder is running while the script runs")
            work.cancel()
            let result = await work.result
            #expect(throws: (any Error).self) { try result.get() }
            #expect(try await Self.liveInstances(a).isEmpty, "no builder is left running")
            #expect(try await a.devImages(distro: "debian12").isEmpty)
            #expect(!FileManager.default.fileExists(atPath: host.written("/root/finished").path))
            _ = try await a.purge(dryRun: false)
        }
    }

    @Test("--parallel builds every distro at once, and Ctrl-C in the middle leaves no builder of any")
    func parallelBuildsAndCancellation() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let host = try BuilderHost()
        defer { host.stop() }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "imgpar", stateDirectory: dir)
            let distros = [try Distro.named("debian12"), try Distro.named("ubuntu24.04")]
            let quick = try Self.builder(a, host: host, state: dir, script: Self.script("echo parallel"))
            let outcomes = try await BootstrapLinuxDevCommand.ensureAll(quick, distros, parallel: true, interrupts: nil)
            #expect(outcomes.map(\.distro) == ["debian12", "ubuntu24.04"])
            #expect(outcomes.allSatisfy { !$0.reused })
            #expect(Set(outcomes.map(\.imageId)).count == 2)
            #expect(try await Self.liveInstances(a).isEmpty)

            let slow = try Self.builder(a, host: host, state: dir,
                                        script: Self.script("mkdir -p /root/started; touch /root/started/$$; sleep 600"))
            let work = Task { try await BootstrapLinuxDevCommand.ensureAll(slow, distros, parallel: true, interrupts: nil) }
            _ = await eventually(within: 300) { host.written(in: "/root/started").count >= 2 }
            try #require(host.written(in: "/root/started").count == 2, "both scripts should be running")
            #expect(try await Self.liveInstances(a).count == 2)
            work.cancel()
            await #expect(throws: (any Error).self) { try await work.value }
            #expect(try await Self.liveInstances(a).isEmpty, "no builder is left running")
            #expect(try await a.devImages(distro: "debian12").map(\.id) == [outcomes[0].imageId], "no image from the cancelled build")
            _ = try await a.purge(dryRun: false)
        }
    }

    @Test("the fingerprint is stable and changes with every input")
    func fingerprint() throws {
        let base = DevImageSpec(distro: "debian12", baseImageId: "ami-1", scriptName: "bootstrap.sh", script: "echo\n",
                                arguments: ["--pythons", "system"], instanceType: "t3.2xlarge", rootVolumeSize: 16)
        let value = try base.fingerprint()
        #expect(value.count == 64 && value.allSatisfy(\.isHexDigit))
        #expect(try base.fingerprint() == value)
        #expect(String(decoding: try base.canonicalEncoding(), as: UTF8.self).hasPrefix(#"{"arguments":["--pythons","system"],"baseImageId":"ami-1","distro":"debian12","#))
        var changes: [DevImageSpec] = []
        var s = base; s.distro = "debian11"; changes.append(s)
        s = base; s.baseImageId = "ami-2"; changes.append(s)
        s = base; s.script = "echo \n"; changes.append(s)
        s = base; s.arguments = ["--pythons", "3.12.8"]; changes.append(s)
        s = base; s.instanceType = "c5.large"; changes.append(s)
        s = base; s.rootVolumeSize = 17; changes.append(s)
        s = base; s.rootVolumeSize = nil; changes.append(s)
        let fingerprints = try changes.map { try $0.fingerprint() }
        #expect(Set(fingerprints + [value]).count == changes.count + 1)
    }
}
