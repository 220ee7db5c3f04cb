import ArgumentParser

/// Where to run and how to reach it.
public struct TargetOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("target"), help: ArgumentHelp("local, local:N or ssh://[user@]host[:port]; repeatable.", valueName: "target"))
    public var targetTexts: [String] = []

    @Option(name: .customLong("agent-binary"), help: "The automation-agent executable to run or upload (default: $AUTOMATION_AGENT_BINARY, else the one beside automation).")
    public var agentBinary: String?

    @OptionGroup(title: "SSH targets") public var ssh: SSHTargetOptions

    public init() {}

    /// The parsed targets; `local` when none was given.
    public func specs() throws -> [TargetSpec] {
        if targetTexts.isEmpty { return [.local(slots: 1)] }
        return try targetTexts.map(TargetSpec.init(parsing:))
    }

    public mutating func validate() throws {
        do {
            _ = try specs()
        } catch let error as UsageError {
            throw ValidationError(error.message)
        }
    }
}
