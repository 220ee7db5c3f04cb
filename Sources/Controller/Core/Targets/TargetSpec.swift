/// Where to run: this machine or a host reached over SSH, with a number of slots
/// (parallel test workers) on it.
public enum TargetSpec: Sendable, Hashable, CustomStringConvertible {
    case local(slots: Int)
    case ssh(SSHAddress)

    /// `user@host:port`, from `ssh://user@host[:port][?slots=N]`.
    public struct SSHAddress: Sendable, Hashable {
        public var user: String?
        public var host: String
        public var port: Int
        public var slots: Int?

        public init(user: String?, host: String, port: Int = 22, slots: Int? = nil) {
            self.user = user
            self.host = host
            self.port = port
            self.slots = slots
        }
    }

    /// Parses `local`, `local:N`, `ssh://[user@]host[:port]` and `ssh://…:port/N`
    /// (N slots on that host).
    public init(parsing text: String) throws {
        if text == "local" {
            self = .local(slots: 1)
            return
        }
        if text.hasPrefix("local:") {
            guard let slots = Int(text.dropFirst(6)), slots > 0 else {
                throw UsageError("target '\(text)': the slot count after local: must be a positive number")
            }
            self = .local(slots: slots)
            return
        }
        guard text.hasPrefix("ssh://") else {
            throw UsageError("target '\(text)': expected local, local:N or ssh://[user@]host[:port]")
        }
        var rest = Substring(text.dropFirst(6))
        var slots: Int?
        if let slash = rest.firstIndex(of: "/") {
            let tail = rest[rest.index(after: slash)...]
            guard tail.isEmpty || Int(tail).map({ $0 > 0 }) == true else {
                throw UsageError("target '\(text)': after the host, /N gives the number of slots")
            }
            slots = tail.isEmpty ? nil : Int(tail)
            rest = rest[..<slash]
        }
        var user: String?
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        var host = String(rest)
        var port = 22
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw UsageError("target '\(text)': unterminated [ in IPv6 address") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw UsageError("target '\(text)': bad port") }
                port = p
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                throw UsageError("target '\(text)': bad port")
            }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw UsageError("target '\(text)': missing host") }
        if let user, user.isEmpty { throw UsageError("target '\(text)': empty user name") }
        self = .ssh(SSHAddress(user: user, host: host, port: port, slots: slots))
    }

    /// Parallel workers this target offers.
    public var slots: Int {
        switch self {
        case .local(let slots): slots
        case .ssh(let address): address.slots ?? 1
        }
    }

    public var description: String {
        switch self {
        case .local(let slots): slots == 1 ? "local" : "local:\(slots)"
        case .ssh(let a):
            "ssh://\(a.user.map { $0 + "@" } ?? "")\(a.host.contains(":") ? "[\(a.host)]" : a.host)\(a.port == 22 ? "" : ":\(a.port)")\(a.slots.map { "/\($0)" } ?? "")"
        }
    }

    /// A host name for reports.
    public var hostName: String {
        switch self {
        case .local: "localhost"
        case .ssh(let a): a.host
        }
    }
}
