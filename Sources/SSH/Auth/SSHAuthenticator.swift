import CLibSSH2
import Foundation

/// Runs user authentication on the I/O thread during connection setup, trying
/// each method in order and remembering why each one failed.
struct SSHAuthenticator {
    let loop: SSHLoop
    let session: OpaquePointer
    let user: String
    let deadline: ContinuousClock.Instant

    /// Returns a description of the credential that worked.
    func authenticate(_ methods: [SSHAuthMethod]) throws -> String {
        // No "none" request to list the server's methods first: sshd pads
        // every failed attempt to a minimum time, so asking costs ~30 ms.
        // The list is fetched only to explain a failure.
        var tried: [String] = []
        var onlyRSA = !methods.isEmpty
        for method in methods {
            switch method {
            case .privateKeyFile(let path, let passphrase):
                let summary = try PrivateKeyFile.inspect(atPath: path)
                let type = summary.type
                if type == "ssh-rsa" || type == "ssh-dss" {
                    tried.append("\(path) (\(type!)): skipped, libssh2 1.10 cannot sign with rsa-sha2")
                    continue
                }
                onlyRSA = false
                if summary.encrypted && passphrase == nil {
                    // Tried without it, libssh2 reports the server's "no" to the .pub beside it,
                    // or a load failure: neither says what is wrong.
                    tried.append("\(path) (\(type ?? "unknown type")): skipped, it \(PrivateKeyFile.passphraseExplanation(path))")
                    continue
                }
                if let failure = try tryKeyFile(path, passphrase: passphrase) {
                    tried.append("\(path) (\(type ?? "unknown type")): \(failure)")
                } else {
                    return "key \(path)"
                }
            case .agent, .agentSocket:
                onlyRSA = false
                var socketPath: String?
                if case .agentSocket(let path) = method { socketPath = path }
                let (accepted, notes) = try tryAgent(socketPath)
                if let accepted { return accepted }
                tried.append(contentsOf: notes)
            }
        }
        if let offered = try? serverMethods(), !offered.isEmpty, !offered.contains("publickey") {
            throw SSHError(.authenticationFailed, "\(loop.label): the server does not accept public key authentication (it offers: \(offered.joined(separator: ", "))).")
        }
        if onlyRSA {
            throw SSHError(.unsupportedKey, "\(loop.label): cannot log in with \(methods.map(\.description).joined(separator: ", ")): it is an RSA key. \(PrivateKeyFile.rsaExplanation)")
        }
        let list = tried.isEmpty ? "nothing (no --identity given and no ssh-agent running)" : tried.map { "\n  - " + $0 }.joined()
        throw SSHError(.authenticationFailed, "\(loop.label): public key authentication failed. Tried: \(list)")
    }

    private func serverMethods() throws -> [String] {
        while true {
            if let list = cssh2_userauth_list(session, user) {
                return String(cString: list).split(separator: ",").map(String.init)
            }
            if libssh2_userauth_authenticated(session) == 1 { return [] }
            let rc = libssh2_session_last_errno(session)
            guard rc == LIBSSH2_ERROR_EAGAIN else { throw loop.makeError(.authenticationFailed, "asking for auth methods", rc: rc) }
            try waitOrTimeout()
        }
    }

    /// nil on success, else the reason.
    private func tryKeyFile(_ path: String, passphrase: String?) throws -> String? {
        let publicKey = path + ".pub"
        let publicPath: String? = FileManager.default.fileExists(atPath: publicKey) ? publicKey : nil
        while true {
            let rc = cssh2_userauth_publickey_fromfile(session, user, publicPath, path, passphrase)
            if rc == 0 { return nil }
            if rc == LIBSSH2_ERROR_EAGAIN { try waitOrTimeout(); continue }
            if SSHLoop.isSocketError(rc) { throw loop.makeError(.authenticationFailed, "authentication", rc: rc) }
            switch rc {
            case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED, LIBSSH2_ERROR_AUTHENTICATION_FAILED:
                return "rejected by the server (is its .pub line in the user's authorized_keys?)"
            case LIBSSH2_ERROR_FILE:
                return "could not be loaded (wrong passphrase or unsupported format: \(loop.lastErrorMessage()))"
            default:
                return "\(loop.lastErrorMessage()) (libssh2 error \(rc))"
            }
        }
    }

    private func tryAgent(_ socketPath: String?) throws -> (String?, [String]) {
        guard let socket = socketPath ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !socket.isEmpty else {
            return (nil, ["ssh-agent: not running (SSH_AUTH_SOCK is not set)"])
        }
        guard let agent = libssh2_agent_init(session) else { return (nil, ["ssh-agent: could not be initialised"]) }
        libssh2_agent_set_identity_path(agent, socket)
        defer {
            libssh2_agent_disconnect(agent)
            libssh2_agent_free(agent)
        }
        guard libssh2_agent_connect(agent) == 0 else { return (nil, ["ssh-agent at \(socket): cannot connect"]) }
        guard libssh2_agent_list_identities(agent) == 0 else { return (nil, ["ssh-agent at \(socket): cannot list identities"]) }
        var notes: [String] = []
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        while true {
            var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
            let rc = libssh2_agent_get_identity(agent, &identity, previous)
            if rc != 0 { break }
            guard let identity else { break }
            previous = identity
            let blob = Array(UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len))
            let key = SSHHostKey(blob: blob)
            let comment = identity.pointee.comment.map { String(cString: $0) } ?? ""
            let label = "ssh-agent key \(key.fingerprint) \(comment) (\(key.algorithm))"
            if key.algorithm == "ssh-rsa" || key.algorithm == "ssh-dss" {
                notes.append("\(label): skipped, libssh2 1.10 cannot sign with rsa-sha2")
                continue
            }
            while true {
                let rc = libssh2_agent_userauth(agent, user, identity)
                if rc == 0 { return (label, notes) }
                if rc == LIBSSH2_ERROR_EAGAIN { try waitOrTimeout(); continue }
                if SSHLoop.isSocketError(rc) { throw loop.makeError(.authenticationFailed, "authentication", rc: rc) }
                notes.append("\(label): rejected by the server")
                break
            }
        }
        if notes.isEmpty { notes.append("ssh-agent at \(socket): holds no keys") }
        return (nil, notes)
    }

    private func waitOrTimeout() throws {
        if !loop.waitSocket(until: deadline) {
            throw SSHError(.timedOut, "\(loop.label): authentication did not finish within \(SSHLoop.describe(loop.configuration.handshakeTimeout)).")
        }
    }
}
