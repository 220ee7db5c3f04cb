import COpenSSL

/// SHA-256 from libcrypto, the controller's one digest wrapper (SigV4, image
/// and key names, host key fingerprints, the agent binary's hash). The agent,
/// which links no OpenSSL, hashes with SyncCore's `SHA256Hasher`.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return digest
        }
        return Array(bytes).withUnsafeBytes { hash($0) }
    }

    private static func hash(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        out.withUnsafeMutableBufferPointer { output in
            var length: UInt32 = 0
            // EVP_Digest cannot fail for SHA-256 with valid buffers.
            _ = EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, EVP_sha256(), nil)
        }
        return out
    }
}
