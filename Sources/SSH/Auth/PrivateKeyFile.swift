import Foundation

/// Reads just enough of a private key file to tell its type and whether it is
/// encrypted, so that an RSA or passphrase-protected key gets an explanation
/// instead of libssh2's opaque (or misleading) failure.
enum PrivateKeyFile {
    /// What the file's header says.
    struct Summary: Equatable {
        /// "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", … or nil if unknown.
        var type: String?
        /// Protected by a passphrase (openssh-key-v1 cipher other than "none", an
        /// encrypted PEM or PKCS#8 key).
        var encrypted: Bool
    }

    /// The key type ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", …) or nil if unknown.
    static func keyType(atPath path: String) throws -> String? { try inspect(atPath: path).type }

    /// Reads the file's header: its type and whether a passphrase protects it.
    static func inspect(atPath path: String) throws -> Summary {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read (permissions?)" : "does not exist"
            throw SSHError(.invalidArgument, "The identity file \(path) \(reason).")
        }
        return inspect(text: String(decoding: data, as: UTF8.self))
    }

    static func inspect(text: String) -> Summary {
        // PEM: "Proc-Type: 4,ENCRYPTED" (traditional) or PKCS#8's own header.
        let pemEncrypted = text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY")
        if text.contains("BEGIN RSA PRIVATE KEY") { return Summary(type: "ssh-rsa", encrypted: pemEncrypted) }
        if text.contains("BEGIN EC PRIVATE KEY") { return Summary(type: "ecdsa-sha2-nistp256", encrypted: pemEncrypted) }
        if text.contains("BEGIN DSA PRIVATE KEY") { return Summary(type: "ssh-dss", encrypted: pemEncrypted) }
        guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return Summary(type: nil, encrypted: pemEncrypted) }
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let decoded = Data(base64Encoded: body) else { return Summary(type: nil, encrypted: false) }
        let bytes = [UInt8](decoded)
        return Summary(type: openSSHKeyType(bytes), encrypted: openSSHCipher(bytes).map { $0 != "none" } ?? false)
    }

    /// The cipher of an openssh-key-v1 key ("none" when unencrypted, "aes256-ctr" …).
    static func openSSHCipher(_ bytes: [UInt8]) -> String? {
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard bytes.starts(with: magic), magic.count + 4 <= bytes.count else { return nil }
        let index = magic.count
        let length = Int(bytes[index]) << 24 | Int(bytes[index + 1]) << 16 | Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
        guard length >= 0, length <= 64, index + 4 + length <= bytes.count else { return nil }
        return String(decoding: bytes[(index + 4)..<(index + 4 + length)], as: UTF8.self)
    }

    /// What to do about a passphrase-protected key: this tool has no prompt.
    static func passphraseExplanation(_ path: String) -> String {
        "is passphrase-protected, and automation does not ask for passphrases; use an unencrypted ed25519 key "
            + "(ssh-keygen -t ed25519 -N '' -f KEY) or load this one into ssh-agent (ssh-add \(path)), which automation uses"
    }

    /// Parses "openssh-key-v1\0", cipher, kdf, kdf options, key count, then
    /// the first public key blob, whose first string is the key type.
    static func openSSHKeyType(_ bytes: [UInt8]) -> String? {
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard bytes.starts(with: magic) else { return nil }
        var index = magic.count
        func readString() -> [UInt8]? {
            guard index + 4 <= bytes.count else { return nil }
            let length = Int(bytes[index]) << 24 | Int(bytes[index + 1]) << 16 | Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            index += 4
            guard length >= 0, index + length <= bytes.count else { return nil }
            defer { index += length }
            return Array(bytes[index..<(index + length)])
        }
        guard readString() != nil, readString() != nil, readString() != nil, index + 4 <= bytes.count else { return nil }
        index += 4
        guard let publicKey = readString() else { return nil }
        return SSHHostKey(blob: publicKey).algorithm
    }

    static let rsaExplanation = """
        libssh2 1.10, the SSH library this build uses, can only sign with ssh-rsa (SHA-1), which current \
        OpenSSH servers refuse, so RSA keys cannot log in. Use an ed25519 key instead: \
        ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519, add the .pub line to the host's ~/.ssh/authorized_keys, \
        and pass --identity ~/.ssh/id_ed25519.
        """
}
