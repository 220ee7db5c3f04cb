import COpenSSL
import Foundation

/// An ed25519 key pair generated with libcrypto, rendered in OpenSSH formats.
public struct Ed25519KeyPair: Sendable {
    /// The 32-byte private seed.
    public let seed: [UInt8]
    /// The 32-byte public key.
    public let publicKey: [UInt8]

    /// Generates a fresh key pair from libcrypto's CSPRNG.
    public static func generate() throws -> Ed25519KeyPair {
        let key = try OwnedPKey.generateEd25519()
        return Ed25519KeyPair(seed: try key.rawPrivateKey(), publicKey: try key.rawPublicKey())
    }

    /// Restores a key pair from its 32-byte seed.
    public init(seed: [UInt8], publicKey: [UInt8]) {
        self.seed = seed
        self.publicKey = publicKey
    }

    /// The SSH wire blob of the public key (`string "ssh-ed25519" || string key`).
    public var publicKeyBlob: [UInt8] {
        var w = SSHWireWriter()
        w.string("ssh-ed25519")
        w.string(publicKey)
        return w.bytes
    }

    /// The public key as one authorized_keys / known_hosts line body.
    public func openSSHPublicKey(comment: String = "") -> String {
        let base = "ssh-ed25519 " + Data(publicKeyBlob).base64EncodedString()
        return comment.isEmpty ? base : base + " " + comment
    }

    /// The OpenSSH fingerprint, `SHA256:<unpadded base64>`, as `ssh-keygen -l` prints it.
    public var fingerprint: String {
        let b64 = Data(Digest.sha256(publicKeyBlob)).base64EncodedString()
        return "SHA256:" + b64.replacingOccurrences(of: "=", with: "")
    }

    /// The private key in the unencrypted `openssh-key-v1` PEM format read by libssh2 and sshd.
    public func openSSHPrivateKey(comment: String = "") -> String {
        // The check value only lets a reader detect a wrong passphrase; the
        // system generator cannot fail silently as an unchecked RAND_bytes can.
        var generator = SystemRandomNumberGenerator()
        let check = (0..<4).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var priv = SSHWireWriter()
        priv.raw(check)
        priv.raw(check)
        priv.string("ssh-ed25519")
        priv.string(publicKey)
        priv.string(seed + publicKey)
        priv.string(comment)
        var pad: UInt8 = 1
        while priv.bytes.count % 8 != 0 {
            priv.raw([pad])
            pad += 1
        }
        var w = SSHWireWriter()
        w.raw(Array("openssh-key-v1".utf8) + [0])
        w.string("none")
        w.string("none")
        w.string("")
        w.uint32(1)
        w.string(publicKeyBlob)
        w.string(priv.bytes)
        let b64 = Data(w.bytes).base64EncodedString()
        var lines = ["-----BEGIN OPENSSH PRIVATE KEY-----"]
        var index = b64.startIndex
        while index < b64.endIndex {
            let end = b64.index(index, offsetBy: 70, limitedBy: b64.endIndex) ?? b64.endIndex
            lines.append(String(b64[index..<end]))
            index = end
        }
        lines.append("-----END OPENSSH PRIVATE KEY-----")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Builds SSH wire-format byte strings (RFC 4251).
struct SSHWireWriter {
    var bytes: [UInt8] = []
    mutating func uint32(_ v: UInt32) {
        bytes += [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }
    mutating func string(_ s: [UInt8]) {
        uint32(UInt32(s.count))
        bytes += s
    }
    mutating func string(_ s: String) { string(Array(s.utf8)) }
    mutating func raw(_ s: [UInt8]) { bytes += s }
}
