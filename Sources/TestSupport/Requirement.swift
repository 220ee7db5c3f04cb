import Foundation
import Testing

/// What a test needs from this machine (root, a tool, a service), with the
/// reason it cannot run without it.
///
/// Used as a trait, `@Test(.requires(requirement))`: the test runs where the
/// requirement is met; elsewhere it is reported as skipped with the reason;
/// under CI=true it fails with the reason instead, so that a CI machine
/// missing a fixture never passes by skipping. A test that `return`s early
/// would count as passed and hide the missing fixture.
public struct Requirement: Sendable {
    /// What is needed and how to get it, e.g. "needs root and /usr/sbin/sshd (apt-get install openssh-server)".
    public let reason: String
    private let check: @Sendable () -> Bool

    /// `check` says whether this machine has it; it runs each time a test asks.
    public init(_ reason: String, _ check: @escaping @Sendable () -> Bool) {
        self.reason = reason
        self.check = check
    }

    /// True under CI=true, where a missing fixture fails a test instead of skipping it.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether this machine has what the test needs.
    public var isMet: Bool { check() }

    /// Throws, failing the test with the reason, when the requirement is not met.
    public func require() throws {
        guard isMet else { throw RequirementError(reason: reason) }
    }

    /// For a condition trait: true to run, false to skip, a thrown error (the
    /// test fails with the reason) when unmet under CI=true.
    public func runOrSkip(isCI: Bool = Requirement.isCI) throws -> Bool {
        if isMet { return true }
        if isCI { throw RequirementError(reason: reason + " (CI=true makes a missing fixture a failure)") }
        return false
    }
}

/// A requirement a test could not meet: what was missing and how to get it.
public struct RequirementError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "cannot run: \(reason)" }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test (or every test of the suite) where `requirement` is met;
    /// elsewhere skips it with the reason, and under CI=true fails it with the reason.
    public static func requires(_ requirement: Requirement, sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        .enabled(if: try requirement.runOrSkip(), Comment(rawValue: requirement.reason + "; CI=true makes this a failure"),
                 sourceLocation: sourceLocation)
    }
}

extension Requirement {
    /// Whether `path` is an executable file.
    public static func executable(_ path: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: path)
    }

    /// Root and an OpenSSH server, for the loopback sshd fixtures (deploy/testhost/sshd.sh).
    public static let sshd = Requirement("needs root and /usr/sbin/sshd (apt-get install openssh-server openssh-client)") {
        getuid() == 0 && executable("/usr/sbin/sshd")
    }
}
