import Foundation

/// What shapes a bootstrap besides the script itself: the arguments passed
/// to deploy/linux/bootstrap.sh, checked before anything runs.
struct BootstrapInputs: Sendable, Equatable {
    /// One OpenSSH public key line.
    var authorizedKey: String
    var pythons: String?
    var hgVersion: String?
    var src: String?

    var arguments: [String] {
        var result = ["--authorized-key", authorizedKey]
        if let pythons { result += ["--pythons", pythons] }
        if let hgVersion { result += ["--hg-version", hgVersion] }
        if let src { result += ["--src", src] }
        return result
    }

    static func isPythonName(_ text: Substring) -> Bool {
        text == "system" || (!text.isEmpty && text.count <= 40 && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "-") })
    }

    static func isVersion(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 20 && text.allSatisfy { $0 == "." || ($0.isASCII && $0.isNumber) }
    }

    /// Reads a public key file: exactly one `ssh-ed25519`/`ecdsa-sha2-*`/`ssh-rsa` line.
    static func readPublicKey(_ path: String) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw UsageError("cannot read the public key \(path): \(error.localizedDescription); pass --authorized-key FILE")
        }
        guard data.count <= 16384, let text = String(data: data, encoding: .utf8) else {
            throw UsageError("\(path) is not an OpenSSH public key (too long or not text)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard lines.count == 1, let line = lines.first,
              ["ssh-ed25519 ", "ecdsa-sha2-nistp", "ssh-rsa "].contains(where: { line.hasPrefix($0) }) else {
            throw UsageError("\(path) must hold one OpenSSH public key line (ssh-ed25519 AAAA…); it holds \(lines.count) line(s)")
        }
        return line
    }
}
