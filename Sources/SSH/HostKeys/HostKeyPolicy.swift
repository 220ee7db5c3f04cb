/// How a connection decides whether to trust the server's host key.
///
/// A pinned fingerprint wins: the key must match it (a provider that made the
/// host key knows it in advance). Otherwise the key must already be in the
/// known-hosts store, unless `acceptNew` allows recording a host seen for the
/// first time. A known host that presents a different key is always refused.
public struct HostKeyPolicy: Sendable {
    /// Acceptable fingerprints ("SHA256:..."); if non-empty, only these pass.
    public var pinnedFingerprints: [String]
    /// The store consulted and updated; nil with pins only.
    public var knownHosts: KnownHostsStore?
    /// Trust on first use: record an unknown host's key instead of refusing.
    public var acceptNew: Bool

    /// Creates a policy.
    public init(pinnedFingerprints: [String] = [], knownHosts: KnownHostsStore?, acceptNew: Bool = false) {
        self.pinnedFingerprints = pinnedFingerprints
        self.knownHosts = knownHosts
        self.acceptNew = acceptNew
    }

    /// The key types to ask the server for, best first: the type already
    /// known for this host leads, so that the server presents that key.
    func preferredAlgorithms(host: String, port: Int) -> [String] {
        var order = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]
        if let known = try? knownHosts?.keys(host: host, port: port).first?.algorithm, let index = order.firstIndex(of: known) {
            order.remove(at: index)
            order.insert(known, at: 0)
        }
        return order
    }

    /// Accepts or refuses `key` for `host:port`; may record it.
    func verify(_ key: SSHHostKey, host: String, port: Int) throws {
        let name = KnownHostsStore.hostField(host: host, port: port)
        let offered = key.fingerprint
        if !pinnedFingerprints.isEmpty {
            let pins = pinnedFingerprints.compactMap(SSHHostKey.normalizeFingerprint)
            guard pins.contains(offered) else {
                throw SSHError(.hostKeyMismatch, """
                    Host key verification failed for \(name): expected \(pins.joined(separator: " or ")) (pinned), \
                    but the server presented \(offered) (\(key.algorithm)). Refusing to connect: \
                    either the pin is wrong or someone is intercepting the connection.
                    """)
            }
            try? knownHosts?.replace(host: host, port: port, with: key)
            return
        }
        guard let store = knownHosts else {
            throw SSHError(.hostKeyUnknown, "No way to verify the host key of \(name) (\(offered)): pass --host-key \(offered) after checking it.")
        }
        let known = try store.keys(host: host, port: port)
        if known.contains(key) { return }
        if let expected = known.first {
            throw SSHError(.hostKeyMismatch, """
                Host key verification failed for \(name): the known hosts file \(store.path) has \
                \(expected.fingerprint) (\(expected.algorithm)), but the server presented \(offered) (\(key.algorithm)). \
                Refusing to connect. If the host was legitimately re-keyed, remove its line from \(store.path) \
                or pin the new key with --host-key.
                """)
        }
        guard acceptNew else {
            throw SSHError(.hostKeyUnknown, """
                The host key of \(name) is not known: the server presented \(offered) (\(key.algorithm)). \
                Check that fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_\(key.algorithm.hasPrefix("ecdsa") ? "ecdsa" : "ed25519")_key.pub), \
                then pass --host-key \(offered), or connect once with --accept-new-host-key to record it in \(store.path).
                """)
        }
        try store.add(host: host, port: port, key: key)
    }
}
