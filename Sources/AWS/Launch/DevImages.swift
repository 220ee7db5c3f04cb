import Foundation
import Logging

/// Dev images of a namespace: found by fingerprint tag, pruned per distro.
extension AWSAutomation {
    /// Tag keys dev images carry besides the ownership tags.
    public static let fingerprintKey = "automation:fingerprint"
    public static let distroKey = "automation:distro"

    /// The image name: prefix, namespace, distro and the fingerprint's first 16 hex digits.
    public func devImageName(distro: String, fingerprint: String) -> String {
        "\(ownership.prefix)\(ownership.namespace)-linux-dev-\(distro)-\(fingerprint.prefix(16))"
    }

    /// This namespace's available dev images of `distro`, newest first.
    public func devImages(distro: String) async throws -> [EC2Image] {
        let images = try await ec2.describeImages(owners: ["self"], filters: ownership.filters + [
            EC2Filter("tag:\(Self.distroKey)", distro), EC2Filter("state", "available"),
        ])
        return images.filter { ownership.owns($0.tags) }.sorted { ($0.creationDate, $0.id) > ($1.creationDate, $1.id) }
    }

    /// The namespace's image of `distro` tagged with `fingerprint`, if one is available.
    public func devImage(distro: String, fingerprint: String) async throws -> EC2Image? {
        try await devImages(distro: distro).first { $0.tag(Self.fingerprintKey) == fingerprint }
    }

    /// Tags a freshly made image (and its snapshots) as the dev image of `distro` with `fingerprint`.
    public func tagDevImage(_ image: EC2Image, distro: String, fingerprint: String) async throws {
        try await ec2.createTags([image.id] + image.snapshotIds, tags: [
            ResourceTag(Self.fingerprintKey, fingerprint), ResourceTag(Self.distroKey, distro),
        ])
    }

    /// Deregisters the namespace's images of `distro` beyond the newest `keep` (never `protecting`),
    /// deleting their snapshots. Returns the removed image ids.
    public func pruneDevImages(distro: String, keep: Int, protecting: String) async throws -> [String] {
        let images = try await devImages(distro: distro)
        var kept = 0
        var removed: [String] = []
        for image in images {
            if image.id == protecting || kept < keep {
                kept += 1
                continue
            }
            logger.info("aws.image.prune", metadata: ["aws.image": "\(image.id)", "aws.distro": "\(distro)"])
            try await ec2.deregisterImage(image.id)
            for snapshot in image.snapshotIds { try await ec2.deleteSnapshot(snapshot) }
            removed.append(image.id)
        }
        return removed
    }
}
