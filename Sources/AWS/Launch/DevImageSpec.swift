import Foundation

/// Everything that shapes a dev image, and its fingerprint: the SHA-256 of a
/// canonical encoding (JSON with sorted keys, no insignificant whitespace,
/// slashes unescaped) of these fields. An image of the namespace tagged with
/// the same fingerprint is reused; any change here builds a new one.
///
/// Unlike the original tool, the security group id is not an input: recreating
/// the account's resources (after `purge-ec2-resources`) does not change what
/// is on the image, so it must not force a rebuild.
public struct DevImageSpec: Sendable, Codable, Equatable {
    public var distro: String
    /// The resolved base AMI id (so a new upstream image builds a new dev image).
    public var baseImageId: String
    /// The bootstrap script's name and full text.
    public var scriptName: String
    public var script: String
    /// The script's arguments (Pythons, Mercurial version, source, authorised key).
    public var arguments: [String]
    public var instanceType: String
    public var rootVolumeSize: Int?
    /// Bumped when the build procedure itself changes meaning.
    public var formatVersion: Int = 1

    public init(distro: String, baseImageId: String, scriptName: String, script: String, arguments: [String],
                instanceType: String, rootVolumeSize: Int?) {
        self.distro = distro
        self.baseImageId = baseImageId
        self.scriptName = scriptName
        self.script = script
        self.arguments = arguments
        self.instanceType = instanceType
        self.rootVolumeSize = rootVolumeSize
    }

    /// The canonical bytes the fingerprint is computed over.
    public func canonicalEncoding() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// 64 lowercase hex digits.
    public func fingerprint() throws -> String {
        Digest.hex(Digest.sha256(try canonicalEncoding()))
    }
}
