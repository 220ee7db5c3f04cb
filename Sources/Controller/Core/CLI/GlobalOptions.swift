import ArgumentParser
import Logging
import Synchronization

/// Options every command takes.
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("state-path"), help: "State directory (default: $AUTOMATION_STATE or ~/.automation).")
    public var statePath: String?

    @Flag(name: .shortAndLong, help: "Log more (same as --log-level debug).")
    public var verbose = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default: warning).")
    public var logLevel: String?

    public init() {}

    public var state: StatePaths { StatePaths(explicit: statePath) }

    public mutating func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
    }

    /// A logger writing to stderr; stdout stays for results.
    public func makeLogger(_ label: String = "automation") -> Logger {
        let level = logLevel.flatMap(Logger.Level.init(rawValue:)) ?? (verbose ? .debug : .warning)
        Self.bootstrapOnce()
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }

    private static let bootstrapped = Mutex(false)

    private static func bootstrapOnce() {
        bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap(StreamLogHandler.standardError)
        }
    }
}
