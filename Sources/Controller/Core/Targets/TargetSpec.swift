/// Where to run: this machine, a host reached over SSH, or fresh EC2 instances,
/// with a number of slots (parallel test workers) on each.
public enum TargetSpec: Sendable, Hashable, CustomStringConvertible {
    case local(slots: Int)
    case ssh(SSHAddress)
    /// Instances launched for one run-tests invocation, which resolves them to `ssh` targets.
    case aws(AWSTarget)

    /// Most slots one `local:N` or `ssh://host/N` target may ask for: the
    /// same bound as `--jobs`. Every slot gets its own worker, scratch
    /// directory and connection, so a larger number is a typo, not a machine.
    public static let maxSlots = 1024

    /// `aws:N[:TYPE]`: N fresh instances of TYPE (default: --instance-type).
    public struct AWSTarget: Sendable, Hashable {
        /// Most instances one target may ask for (RunInstances takes 16 per call).
        public static let maxCount = 256
        public var count: Int
        public var instanceType: String?

        public init(count: Int, instanceType: String? = nil) {
            self.count = count
            self.instanceType = instanceType
        }
    }

    /// `user@host:port`, from `ssh://user@host[:port][?slots=N]`.
    public struct SSHAddress: Sendable, Hashable {
        public var user: String?
        public var host: String
        public var port: Int
        public var slots: Int?
        /// A private key to offer first: the namespace key of an instance this run launched.
        public var identity: String?
        /// A prepared work area (an instance's /hgwork): the synced copy goes to `<workRoot>/src`,
        /// the tests' scratch to `<workRoot>/tmp`.
        public var workRoot: String?
        /// Seconds with no controller after which the agent powers the machine off
        /// (`serve --poweroff-when-idle`): set for an instance this run launched, which
        /// terminates on shutdown. Nil: the agent just exits after `--agent-idle-timeout`.
        public var powerOffWhenIdle: Int?

        public init(user: String?, host: String, port: Int = 22, slots: Int? = nil, identity: String? = nil) {
            self.user = user
            self.host = host
            self.port = port
            self.slots = slots
            self.identity = identity
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
            guard let slots = Int(text.dropFirst(6)), (1...Self.maxSlots).contains(slots) else {
                throw UsageError("target '\(text)': the slot count after local: must be a number from 1 to \(Self.maxSlots)")
            }
            self = .local(slots: slots)
            return
        }
        if text.hasPrefix("aws:") {
            let fields = text.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count <= 3, let count = Int(fields[1]), (1...AWSTarget.maxCount).contains(count) else {
                throw UsageError("target '\(text)': expected aws:N or aws:N:INSTANCE_TYPE with N from 1 to \(AWSTarget.maxCount)")
            }
            let type = fields.count == 3 ? String(fields[2]) : nil
            if let type, !InstanceTypes.isWellFormed(type) {
                throw UsageError("target '\(text)': '\(type)' is not an instance type (like c5.9xlarge)")
            }
            self = .aws(AWSTarget(count: count, instanceType: type))
            return
        }
        guard text.hasPrefix("ssh://") else {
            throw UsageError("target '\(text)': expected local, local:N, ssh://[user@]host[:port] or aws:N[:TYPE]")
        }
        var rest = Substring(text.dropFirst(6))
        var slots: Int?
        if let slash = rest.firstIndex(of: "/") {
            let tail = rest[rest.index(after: slash)...]
            guard tail.isEmpty || Int(tail).map({ (1...Self.maxSlots).contains($0) }) == true else {
                throw UsageError("target '\(text)': after the host, /N gives the number of slots, from 1 to \(Self.maxSlots)")
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
        case .aws(let target): target.count * (target.instanceType.flatMap(InstanceTypes.vcpus) ?? 1)
        }
    }

    /// The prepared work area of an ssh target, if any.
    public var workRoot: String? {
        if case .ssh(let address) = self { address.workRoot } else { nil }
    }

    public var description: String {
        switch self {
        case .local(let slots): slots == 1 ? "local" : "local:\(slots)"
        case .ssh(let a):
            "ssh://\(a.user.map { $0 + "@" } ?? "")\(a.host.contains(":") ? "[\(a.host)]" : a.host)\(a.port == 22 ? "" : ":\(a.port)")\(a.slots.map { "/\($0)" } ?? "")"
        case .aws(let t): "aws:\(t.count)" + (t.instanceType.map { ":" + $0 } ?? "")
        }
    }

    /// The `aws:N` request, for targets that are one.
    public var awsTarget: AWSTarget? {
        if case .aws(let target) = self { target } else { nil }
    }

    /// A host name for reports.
    public var hostName: String {
        switch self {
        case .local: "localhost"
        case .ssh(let a): a.host
        case .aws: "aws"
        }
    }
}
