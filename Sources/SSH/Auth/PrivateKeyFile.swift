import Foundation

/// Reads just enough of a private key file to tell its type, so that an RSA
/// key gets an explanation instead of libssh2's opaque failure.
enum PrivateKeyFile {
    /// The key type ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", …) or nil if unknown.
    static func keyType(atPath path: String) throws -> String? {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read (permissions?)" : "does not exist"
            throw SSHError(.invalidArgument, "The identity file \(path) \(reason).")
        }
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("BEGIN RSA PRIVATE KEY") { return "ssh-rsa" }
        if text.contains("BEGIN EC PRIVATE KEY") { return "ecdsa-sha2-nistp256" }
        if text.contains("BEGIN DSA PRIVATE KEY") { return "ssh-dss" }
        guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return nil }
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let decoded = Data(base64Encoded: body) else { return nil }
        return openSSHKeyType([UInt8](decoded))
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
