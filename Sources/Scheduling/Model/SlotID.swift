/// One place that runs one test at a time: a job slot on a target's host.
public struct SlotID: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    /// The target as the user wrote it, e.g. `local:4` or `ssh://hg@box`.
    public var target: String
    /// The host the slot runs on, e.g. `localhost` or `box`.
    public var host: String
    /// The slot's index within its target, from 0.
    public var index: Int

    /// Creates a slot identity.
    public init(target: String, host: String, index: Int) {
        self.target = target
        self.host = host
        self.index = index
    }

    /// A short label for terminals and reports, e.g. `localhost#2`.
    public var description: String { "\(host)#\(index)" }

    public static func < (lhs: SlotID, rhs: SlotID) -> Bool {
        (lhs.target, lhs.host, lhs.index) < (rhs.target, rhs.host, rhs.index)
    }
}
