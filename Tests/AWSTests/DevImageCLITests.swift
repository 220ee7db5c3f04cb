@testable import AutomationKit
@testable import AWS
import Foundation
import Testing
import TestSupport

/// `automation bootstrap-linux-dev --distros` through the built binary: an image
/// tagged with the fingerprint the CLI computes is reused without launching anything.
@Suite("bootstrap-linux-dev --distros CLI against moto", .requires(Fixtures.moto))
struct DevImageCLITests {
    @Test("an image with the matching fingerprint is reused: printed, and no instance launched")
    func reusesMatchingImage() async throws {
        let home = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        let state = home.appendingPathComponent("state")
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let a = try TestClients.automation(moto.endpoint, namespace: "clireuse", stateDirectory: state)
            // The fingerprint the CLI will compute: its defaults, the namespace's key, Debian 12's newest base image.
            let key = try a.state.clientKey(namespace: "clireuse").openSSHPublicKey(comment: "hg-automation-clireuse")
            let base = try await a.resolveImage(distro: try Distro.named("debian12"))
            let spec = DevImageSpec(distro: "debian12", baseImageId: base, scriptName: "bootstrap.sh",
                                    script: EmbeddedScripts.bootstrap + "\n",
                                    arguments: BootstrapInputs(authorizedKey: key, pythons: "system").arguments,
                                    instanceType: "t3.2xlarge", rootVolumeSize: 16)
            let fingerprint = try spec.fingerprint()
            // An image made from a plain instance, tagged as that dev image.
            let launched = try await a.launch(LaunchRequest(count: 1, instanceType: "t3.micro", imageId: base,
                                                            ttl: .seconds(600), sshCidr: "192.0.2.10/32"))
            let runId = launched.run.runId
            let id = try #require(launched.run.instances.first?.id)
            let imageId = try await a.createImage(from: id, runId: runId, name: a.devImageName(distro: "debian12", fingerprint: fingerprint))
            let image = try #require(try await a.ec2.describeImages(ids: [imageId]).first)
            try await a.tagDevImage(image, distro: "debian12", fingerprint: fingerprint)
            _ = try await a.ec2.terminateInstances([id])

            let env = CLI.environment(home: home, ["AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": moto.endpoint])
            let flags = ["--state-path", state.path, "--namespace", "clireuse", "--ssh-cidr", "192.0.2.10/32", "--pythons", "system"]
            let reused = try CLI.run(["bootstrap-linux-dev", "--distros", "debian12"] + flags, environment: env)
            #expect(reused.status == 0, "\(reused.stderr)")
            #expect(reused.stdout == "debian12\t\(imageId)\treused\n", "\(reused.stdout) \(reused.stderr)")
            let live = try await a.ec2.describeInstances(filters: a.ownership.filters).filter { $0.state != "terminated" }
            #expect(live.isEmpty, "reusing launched nothing")

            // Other inputs, another fingerprint: the image is not taken for it (and the build needs a reachable
            // builder, which moto's instances are not; --wait-timeout bounds the attempt).
            // The build goes as far as connecting: with the agent that ships (a dynamically linked one is refused before launch).
            var buildEnv = env
            buildEnv["AUTOMATION_AGENT_BINARY"] = try BuiltProducts.agent()
            let other = try CLI.run(["bootstrap-linux-dev", "--distros", "debian12", "--wait-timeout", "3s", "--ssh-timeout", "1", "--hg-version", "7.1"] + flags,
                                    environment: buildEnv)
            #expect(other.status == 255, "\(other.stdout) \(other.stderr)")
            #expect(other.stderr.contains("building one from \(base)"))
            let after = try await a.ec2.describeInstances(filters: a.ownership.filters).filter { $0.state != "terminated" }
            #expect(after.isEmpty, "the failed build terminated its builder: \(after.map(\.id))")
            _ = try await a.purge(dryRun: false)
        }
    }
}
