import COpenSSL

/// A libcrypto failure, with the OpenSSL error queue's first message.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// What was being attempted.
    public let operation: String
    /// OpenSSL's own reason string, if any.
    public let detail: String

    init(_ operation: String) {
        self.operation = operation
        let code = ERR_get_error()
        if code == 0 {
            detail = "no OpenSSL error recorded"
        } else {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            detail = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public var description: String { "libcrypto: \(operation) failed: \(detail)" }
}

/// Owns one EVP_PKEY and frees it on deinit.
final class OwnedPKey {
    let pointer: OpaquePointer

    private init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    static func generateEd25519() throws -> OwnedPKey {
        let context = try OwnedPKeyContext(id: EVP_PKEY_ED25519)
        guard EVP_PKEY_keygen_init(context.pointer) == 1 else { throw CryptoError("EVP_PKEY_keygen_init") }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen(context.pointer, &key) == 1, let key else { throw CryptoError("EVP_PKEY_keygen") }
        return OwnedPKey(key)
    }

    func rawPrivateKey() throws -> [UInt8] {
        var length = 32
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_get_raw_private_key(pointer, &out, &length) == 1 else {
            throw CryptoError("EVP_PKEY_get_raw_private_key")
        }
        return Array(out.prefix(length))
    }

    func rawPublicKey() throws -> [UInt8] {
        var length = 32
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_get_raw_public_key(pointer, &out, &length) == 1 else {
            throw CryptoError("EVP_PKEY_get_raw_public_key")
        }
        return Array(out.prefix(length))
    }
}

/// Owns one EVP_PKEY_CTX and frees it on deinit.
final class OwnedPKeyContext {
    let pointer: OpaquePointer

    init(id: Int32) throws {
        guard let p = EVP_PKEY_CTX_new_id(id, nil) else { throw CryptoError("EVP_PKEY_CTX_new_id") }
        pointer = p
    }
    deinit { EVP_PKEY_CTX_free(pointer) }
}
