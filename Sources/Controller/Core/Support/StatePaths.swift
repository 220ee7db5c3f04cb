import Foundation

/// The controller's state directory: known hosts, keys, durations, run records.
public struct StatePaths: Sendable {
    public var root: String

    /// `explicit` (--state-path), else $AUTOMATION_STATE, else ~/.automation.
    public init(explicit: String?) {
        if let explicit, !explicit.isEmpty {
            root = (explicit as NSString).expandingTildeInPath
        } else if let env = ProcessInfo.processInfo.environment["AUTOMATION_STATE"], !env.isEmpty {
            root = (env as NSString).expandingTildeInPath
        } else {
            root = (NSHomeDirectory() as NSString).appendingPathComponent(".automation")
        }
    }

    /// Creates the directory (mode 0700) if needed and returns `root/component`.
    public func directory(_ component: String) throws -> String {
        let path = component.isEmpty ? root : (root as NSString).appendingPathComponent(component)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        return path
    }
}
