import Foundation
import Logging
import SSH
import Testing
import TestSupport

/// A passphrase-protected key is named as such, not "rejected by the server".
@Suite("passphrase-protected identity files against a real sshd", .serialized)
struct PassphraseKeyTests {
    /// `ssh-keygen` a key protected by a passphrase into `directory`; `pem` writes the
    /// traditional PEM format (Proc-Type: 4,ENCRYPTED) instead of openssh-key-v1.
    static func lockedKey(in directory: String, name: String, type: String = "ed25519", format: String? = nil) throws -> String {
        let path = directory + "/" + name
        _ = try SSHDFixture.run(["/usr/bin/ssh-keygen", "-q", "-t", type, "-N", "secret phrase", "-C", name, "-f", path]
                                + (format.map { ["-m", $0] } ?? []))
        return path
    }

    @Test("an encrypted openssh-key-v1 key with its .pub beside it: 'passphrase-protected', not 'rejected by the server'",
          .requires(.sshd))
    func encryptedOpenSSHKey() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let key = try Self.lockedKey(in: sshd.directory, name: "id_locked")
            #expect(FileManager.default.fileExists(atPath: key + ".pub"))
            let error = await #expect(throws: SSHError.self) { _ = try await sshd.connect(key: key) }
            #expect(error?.code == .authenticationFailed)
            #expect(error?.message.contains("\(key) (ssh-ed25519): skipped, it is passphrase-protected") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("ssh-add \(key)") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("rejected by the server") == false, "\(error?.message ?? "")")
        }
    }

    @Test("an authorised key is still refused for its passphrase, saying so; encrypted PEM and PKCS#8 keys too",
          .requires(.sshd))
    func authorisedAndPEMKeys() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let authorised = try Self.lockedKey(in: sshd.directory, name: "id_locked_ok")
            let authorizedKeys = sshd.directory + "/authorized_keys"
            let line = try String(contentsOfFile: authorised + ".pub", encoding: .utf8)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: authorizedKeys))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
            try handle.close()
            let pem = try Self.lockedKey(in: sshd.directory, name: "id_locked_pem", type: "ecdsa", format: "PEM")
            #expect(try String(contentsOfFile: pem, encoding: .utf8).contains("Proc-Type: 4,ENCRYPTED"))
            let pkcs8 = try Self.lockedKey(in: sshd.directory, name: "id_locked_pkcs8", type: "ecdsa", format: "PKCS8")
            #expect(try String(contentsOfFile: pkcs8, encoding: .utf8).contains("BEGIN ENCRYPTED PRIVATE KEY"))
            for key in [authorised, pem, pkcs8] {
                let error = await #expect(throws: SSHError.self) { _ = try await sshd.connect(key: key) }
                #expect(error?.message.contains("\(key) (") == true && error?.message.contains("passphrase-protected") == true,
                        "\(key): \(error?.message ?? "")")
            }
            // The fixture's own unencrypted key still logs in: the check reads the header only.
            let session = try await sshd.connect()
            session.close()
        }
    }
}
