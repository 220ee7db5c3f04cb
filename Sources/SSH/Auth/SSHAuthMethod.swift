/// A way to prove the client's identity.
public enum SSHAuthMethod: Sendable, Hashable, CustomStringConvertible {
    /// A private key file (ed25519 or ECDSA), optionally with a passphrase.
    case privateKeyFile(path: String, passphrase: String? = nil)
    /// The identities of the ssh-agent at SSH_AUTH_SOCK.
    case agent
    /// The identities of the ssh-agent listening on this socket.
    case agentSocket(String)

    public var description: String {
        switch self {
        case .privateKeyFile(let path, _): return "key \(path)"
        case .agent: return "ssh-agent"
        case .agentSocket(let path): return "ssh-agent at \(path)"
        }
    }
}
