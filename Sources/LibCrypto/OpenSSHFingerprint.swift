import Foundation

/// OpenSSH's key fingerprint, `SHA256:` and the digest's unpadded base64, as
/// `ssh-keygen -l` prints it: the one renderer for host keys and key pairs.
public enum OpenSSHFingerprint {
    /// The fingerprint of a public key blob (the base64 part of a known_hosts line, decoded).
    public static func of(blob: [UInt8]) -> String {
        render(digest: SHA256.hash(blob))
    }

    /// The fingerprint text for a SHA-256 `digest` of a key blob.
    public static func render(digest: [UInt8]) -> String {
        var text = Data(digest).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return "SHA256:" + text
    }
}
