import Foundation

/// Finds the agent executable to run locally or upload.
public enum AgentBinary {
    /// `explicit` (from --agent-binary), else $AUTOMATION_AGENT_BINARY, else the
    /// `automation-agent` beside the running controller.
    public static func locate(explicit: String? = nil) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit {
            candidates.append(explicit)
        } else if let fromEnv = environment["AUTOMATION_AGENT_BINARY"], !fromEnv.isEmpty {
            candidates.append(fromEnv)
        } else if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let dir = (path as NSString).deletingLastPathComponent
            candidates.append(dir + "/automation-agent")
            // Test bundles live one level below the build products.
            candidates.append(((dir as NSString).deletingLastPathComponent as NSString).appendingPathComponent("automation-agent"))
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw UsageError("""
            cannot find the automation-agent executable (looked at: \(candidates.joined(separator: ", "))); \
            build it with `swift build` or pass --agent-binary PATH
            """)
    }
}
