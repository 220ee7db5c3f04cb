import COpenSSL

/// HMAC-SHA256 over libcrypto's one-shot function (SigV4); SHA-256 itself and
/// hex are LibCrypto's `SHA256` and `hexString`.
public enum Digest {
    /// HMAC-SHA256 of `data` under `key`.
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, o.baseAddress, &length)
                }
            }
        }
        return Array(out.prefix(Int(length)))
    }

    /// HMAC-SHA256 of the UTF-8 bytes of `string` under `key`.
    public static func hmacSHA256(key: [UInt8], _ string: String) -> [UInt8] {
        hmacSHA256(key: key, data: Array(string.utf8))
    }
}
