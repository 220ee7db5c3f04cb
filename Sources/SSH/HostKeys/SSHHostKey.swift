import Foundation

/// A server's public host key, as the SSH wire format blob.
public struct SSHHostKey: Sendable, Hashable {
    /// The raw key blob (the base64 part of a known_hosts line, decoded).
    public var blob: [UInt8]

    /// Creates a key from its blob.
    public init(blob: [UInt8]) { self.blob = blob }

    /// Parses "ssh-ed25519 AAAA..." (the part of an authorized_keys or
    /// known_hosts line after the host field).
    public init?(openSSH text: some StringProtocol) {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2, let data = Data(base64Encoded: String(fields[1])) else { return nil }
        self.blob = [UInt8](data)
        guard algorithm == String(fields[0]) else { return nil }
    }

    /// The key type named inside the blob, e.g. "ssh-ed25519".
    public var algorithm: String {
        guard blob.count >= 4 else { return "unknown" }
        let length = Int(blob[0]) << 24 | Int(blob[1]) << 16 | Int(blob[2]) << 8 | Int(blob[3])
        guard length > 0, 4 + length <= blob.count else { return "unknown" }
        return String(decoding: blob[4..<(4 + length)], as: UTF8.self)
    }

    /// The OpenSSH-style fingerprint, "SHA256:" and unpadded base64.
    public var fingerprint: String { SSHHostKey.fingerprint(ofBlob: blob) }

    /// "ssh-ed25519 AAAA...".
    public var openSSHString: String { "\(algorithm) \(Data(blob).base64EncodedString())" }

    static func fingerprint(ofBlob blob: [UInt8]) -> String {
        fingerprint(ofDigest: SHA256.hash(blob))
    }

    static func fingerprint(ofDigest digest: [UInt8]) -> String {
        var text = Data(digest).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return "SHA256:" + text
    }

    /// Normalises user input: accepts "SHA256:xxx" or bare base64, with or without padding.
    public static func normalizeFingerprint(_ text: String) -> String? {
        var body = text.trimmingCharacters(in: .whitespaces)
        if body.hasPrefix("SHA256:") { body.removeFirst(7) }
        while body.hasSuffix("=") { body.removeLast() }
        var padded = body
        while padded.count % 4 != 0 { padded += "=" }
        guard let data = Data(base64Encoded: padded), data.count == 32 else { return nil }
        return "SHA256:" + body
    }
}
