import AWS
import Foundation
import Logging

/// Finds or builds the dev image of a distribution: reuse by fingerprint, else
/// launch a builder, bootstrap it through the agent, stop it, image it, tag the
/// image, terminate the builder and prune older images. Every exit path
/// terminates the builder, cancellation (Ctrl-C) included.
struct DevImageBuilder: Sendable {
    /// Opens an agent session on a launched builder as `user`.
    typealias Connector = @Sendable (_ instance: RunRecord.Instance, _ user: String) async throws -> AgentClient

    let automation: AWSAutomation
    let script: RemoteScript
    let arguments: [String]
    let instanceType: String
    let rootVolumeSize: Int?
    /// Images of the same distro kept besides the new one.
    let keep: Int
    let builderTTL: Duration
    let sshCidr: String
    let connect: Connector
    let logger: Logger
    /// Runs before a builder is launched (not when an image is reused): refuses what
    /// would fail only once the builder is up, such as an agent that cannot be uploaded.
    var preflight: @Sendable () throws -> Void = {}

    struct Outcome: Sendable, Equatable {
        var distro: String
        var imageId: String
        var fingerprint: String
        var reused: Bool
        var removed: [String]
    }

    /// The fingerprint inputs for `distro` on `baseImageId`.
    func spec(distro: String, baseImageId: String) -> DevImageSpec {
        DevImageSpec(distro: distro, baseImageId: baseImageId, scriptName: script.name, script: script.text,
                     arguments: arguments, instanceType: instanceType, rootVolumeSize: rootVolumeSize)
    }

    /// `announce` hears the fingerprint and base image just before a build starts.
    func ensure(_ distro: Distro, prefix: String?, interrupts: InterruptMonitor?,
                announce: (@Sendable (_ fingerprint: String, _ base: String) -> Void)? = nil) async throws -> Outcome {
        let base = try await automation.resolveImage(distro: distro)
        let fingerprint = try spec(distro: distro.name, baseImageId: base).fingerprint()
        if let image = try await automation.devImage(distro: distro.name, fingerprint: fingerprint) {
            return Outcome(distro: distro.name, imageId: image.id, fingerprint: fingerprint, reused: true, removed: [])
        }
        if let announce {
            announce(fingerprint, base)
        } else {
            say(prefix, "no image with fingerprint \(fingerprint.prefix(16)); building one from \(base)")
        }
        // The run id is chosen here so that cleanup finds exactly this build's
        // builder, even when the launch is interrupted before it answers and
        // while other distros build in parallel.
        let runId = RunRecord.newRunId()
        try preflight()
        do {
            var request = LaunchRequest(count: 1, instanceType: instanceType, imageId: base, distro: distro, ttl: builderTTL,
                                        sshCidr: sshCidr, rootVolumeSize: rootVolumeSize)
            request.runId = runId
            let launched = try await automation.launch(request)
            guard let builder = launched.run.instances.first else { throw ProvisionError("the builder launch returned no instance") }
            say(prefix, "builder \(builder.id) running; bootstrapping as \(distro.defaultUser)")
            let client = try await connect(builder, distro.defaultUser)
            let status: Int32
            do {
                status = try await script.run(on: client, target: builder.id, arguments: arguments, prefix: prefix, interrupts: interrupts)
                client.close()
            } catch {
                client.close()
                throw error
            }
            guard status == 0 else {
                throw ProvisionError("\(distro.name): \(script.name) failed on builder \(builder.id) with status \(status); its output is above")
            }
            try Task.checkCancellation()
            say(prefix, "stopping \(builder.id) and creating the image")
            let name = automation.devImageName(distro: distro.name, fingerprint: fingerprint)
            let imageId = try await automation.createImage(from: builder.id, runId: launched.run.runId, name: name,
                                                           description: "hg-automation \(distro.name) dev image \(fingerprint.prefix(16))")
            guard let image = try await automation.ec2.describeImages(ids: [imageId]).first else {
                throw ProvisionError("image \(imageId) vanished right after it became available")
            }
            try await automation.tagDevImage(image, distro: distro.name, fingerprint: fingerprint)
            await terminateBuilder(runId: runId)
            let removed = try await automation.pruneDevImages(distro: distro.name, keep: keep, protecting: imageId)
            return Outcome(distro: distro.name, imageId: imageId, fingerprint: fingerprint, reused: false, removed: removed)
        } catch {
            await terminateBuilder(runId: runId)
            throw error
        }
    }

    /// Terminates this build's builder, in a task of its own so that a
    /// cancelled build still gets its cleanup done.
    private func terminateBuilder(runId: String) async {
        let automation = automation, logger = logger
        await Task {
            let recorded = automation.state.loadRuns(region: automation.region, namespace: automation.ownership.namespace)
                .filter { $0.runId == runId }.flatMap { $0.instances.map(\.id) }
            // A launch interrupted before its answer is found by the run tag.
            let tagged = (try? await automation.ec2.describeInstances(filters: automation.ownership.filters + [
                EC2Filter("tag:\(Ownership.runKey)", runId)]))?.filter { $0.state != "terminated" }.map(\.id) ?? []
            let ids = Array(Set(recorded + tagged)).sorted()
            guard !ids.isEmpty else { return }
            do {
                _ = try await automation.ec2.terminateInstances(ids)
                _ = try await automation.ec2.waitForInstances(ids, toBe: ["terminated"], timeout: automation.waitTimeout,
                                                              interval: automation.pollInterval)
            } catch {
                logger.error("aws.builder.terminate.failed", metadata: ["aws.instances": "\(ids)", "error": "\(error)"])
                FileHandle.standardError.write(Data("automation: error: could not terminate builder \(ids.joined(separator: " ")): \(error); run `automation terminate-ec2-instances`\n".utf8))
            }
        }.value
    }

    private func say(_ prefix: String?, _ text: String) {
        FileHandle.standardError.write(Data("\(prefix ?? "")automation: \(text)\n".utf8))
    }
}
