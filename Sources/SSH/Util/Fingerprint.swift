import COpenSSL

/// SHA-256 for host key fingerprints, from libcrypto (which libssh2 links anyway).
/// The agent, which links no OpenSSL, hashes with SyncCore's `SHA256Hasher`.
public enum SHA256 {
    public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        let input = Array(bytes)
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        input.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                var length: UInt32 = 0
                // EVP_Digest cannot fail for SHA-256 with valid buffers.
                _ = EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        return out
    }
}

extension Array where Element == UInt8 {
    /// Lowercase hex.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
