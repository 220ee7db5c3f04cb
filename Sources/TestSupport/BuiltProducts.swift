import Foundation

/// The executables the tests run: `automation` as built with the tests, and
/// the agent, $AUTOMATION_AGENT_BINARY (the static build of
/// deploy/build-agent.sh, as test.sh sets it) or the one built with the tests.
public enum BuiltProducts {
    /// The build products directory: SwiftPM runs the test bundle from it,
    /// or from a bundle directory one level below it.
    static var productDirectories: [URL] {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return [] }
        let dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        return [dir, dir.deletingLastPathComponent()]
    }

    /// The `automation` built with the tests (else the one beside the agent).
    public static func automation() throws -> String {
        var candidates = productDirectories.map { $0.appendingPathComponent("automation").path }
        if let agentPath = try? agent() {
            candidates.append(URL(fileURLWithPath: agentPath).deletingLastPathComponent().appendingPathComponent("automation").path)
        }
        return try first(of: candidates, "the automation executable", fix: "run `swift build --build-tests` first")
    }

    /// The agent the tests run: $AUTOMATION_AGENT_BINARY when set, else the
    /// `automation-agent` built with the tests (dynamically linked).
    public static func agent() throws -> String {
        if let fromEnvironment = ProcessInfo.processInfo.environment["AUTOMATION_AGENT_BINARY"], !fromEnvironment.isEmpty {
            return try first(of: [fromEnvironment], "AUTOMATION_AGENT_BINARY",
                             fix: "point it at the static agent: export AUTOMATION_AGENT_BINARY=$(deploy/build-agent.sh | tail -n 1)")
        }
        return try first(of: productDirectories.map { $0.appendingPathComponent("automation-agent").path }, "the automation-agent executable",
                         fix: "run `swift build --build-tests` first, or set AUTOMATION_AGENT_BINARY (deploy/build-agent.sh)")
    }

    private static func first(of candidates: [String], _ what: String, fix: String) throws -> String {
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw RequirementError(reason: "\(what) is not an executable file (looked at \(candidates.joined(separator: ", "))): \(fix)")
        }
        return found
    }
}
