import ArgumentParser

/// How to reach `ssh://` targets: credentials, host key checks, agent lifetime.
public struct SSHTargetOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("identity"), help: ArgumentHelp("An ed25519 or ECDSA private key file; repeatable (default: ssh-agent, ~/.ssh/id_ed25519, ~/.ssh/id_ecdsa).", valueName: "file"))
    public var identities: [String] = []

    @Option(name: .customLong("host-key"), help: ArgumentHelp("Pin the host key fingerprint (SHA256:…) instead of using the known hosts in the state directory; repeatable.", valueName: "fingerprint"))
    public var hostKeys: [String] = []

    @Flag(name: .customLong("accept-new-host-key"), help: "Trust and record the host key of a host seen for the first time (trust on first use).")
    public var acceptNewHostKey = false

    @Option(name: .customLong("ssh-timeout"), parsing: .unconditional, help: ArgumentHelp("Seconds allowed for the TCP connect, the SSH handshake and authentication, each.", valueName: "seconds"))
    public var connectTimeout: Double = 10

    @Option(name: .customLong("agent-idle-timeout"), parsing: .unconditional, help: ArgumentHelp("The remote agent exits after this many seconds with no controller connected (default: 1800; 0: never); also set on an agent already running.", valueName: "seconds"))
    public var agentIdleTimeoutFlag: Int?

    /// `--agent-idle-timeout`, or its default.
    public var agentIdleTimeout: Int {
        get { agentIdleTimeoutFlag ?? 1800 }
        set { agentIdleTimeoutFlag = newValue }
    }

    public init() {}

    public mutating func validate() throws {
        for key in hostKeys where SSHFingerprint.normalize(key) == nil {
            throw ValidationError("--host-key '\(key)' is not a SHA256 fingerprint (expected SHA256: and 43 base64 characters, as ssh-keygen -l prints)")
        }
        try DurationOption.check(connectTimeout, flag: "--ssh-timeout", max: 3600)
        if agentIdleTimeout < 0 { throw DurationOption.negative(flag: "--agent-idle-timeout", got: String(agentIdleTimeout)) }
        guard (0...Int(DurationOption.maxTimeoutSeconds)).contains(agentIdleTimeout) else {
            throw ValidationError("--agent-idle-timeout takes 0 to \(Int(DurationOption.maxTimeoutSeconds)) seconds, got \(agentIdleTimeout)")
        }
    }
}

import SSH

/// Fingerprint parsing shared with the SSH layer.
enum SSHFingerprint {
    static func normalize(_ text: String) -> String? { SSHHostKey.normalizeFingerprint(text) }
}
