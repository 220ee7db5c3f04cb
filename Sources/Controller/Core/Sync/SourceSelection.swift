import Foundation
import SyncCore

/// Which files of a working copy travel: for Mercurial and Git, the files as
/// they are on disk (tracked, added, and unknown-but-not-ignored; removed ones
/// are absent); with no VCS, the whole tree.
public struct SourceSelection: Sendable {
    public enum VCS: String, Sendable {
        case mercurial = "hg", git, none
    }

    public var root: String
    public var vcs: VCS
    /// Relative paths to sync; nil for the whole tree.
    public var files: [SyncPath]?
    /// `.hg`/`.git`, walked whole (`--include-vcs`).
    public var extraTrees: [SyncPath] = []

    /// SRC if given (a directory), else the working copy around `cwd`, else `cwd`.
    public static func resolve(source: String?, cwd: String, includeVCS: Bool) throws -> SourceSelection {
        let fm = FileManager.default
        var root: String
        var vcs = VCS.none
        if let source {
            let absolute = source.hasPrefix("/") ? source : cwd + "/" + source
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: absolute, isDirectory: &isDir), isDir.boolValue else {
                throw UsageError("source \(source) is not a directory")
            }
            root = URL(fileURLWithPath: absolute).standardizedFileURL.path
            vcs = detect(root)
        } else {
            root = cwd
            var dir = URL(fileURLWithPath: cwd).standardizedFileURL
            while true {
                let found = detect(dir.path)
                if found != .none {
                    root = dir.path
                    vcs = found
                    break
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        var selection = SourceSelection(root: root, vcs: vcs)
        switch vcs {
        case .none:
            selection.files = nil
        case .mercurial:
            let hg = ProcessInfo.processInfo.environment["HG"] ?? "hg"
            let tracked = try listing([hg, "files", "-0"], in: root)
            let unknown = try listing([hg, "status", "--unknown", "--no-status", "-0"], in: root)
            selection.files = tracked + unknown
            if includeVCS { selection.extraTrees = [SyncPath(".hg")!] }
        case .git:
            selection.files = try listing(["git", "ls-files", "-co", "--exclude-standard", "-z"], in: root)
            if includeVCS { selection.extraTrees = [SyncPath(".git")!] }
        }
        return selection
    }

    static func detect(_ dir: String) -> VCS {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir + "/.hg", isDirectory: &isDir), isDir.boolValue { return .mercurial }
        if FileManager.default.fileExists(atPath: dir + "/.git") { return .git }
        return .none
    }

    /// Runs a VCS command (no shell) and splits its NUL-separated output into paths.
    static func listing(_ argv: [String], in dir: String) throws -> [SyncPath] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        var env = ProcessInfo.processInfo.environment
        env["HGPLAIN"] = "1"
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw UsageError("cannot run \(argv[0]) to list the files of \(dir): \(error.localizedDescription)")
        }
        // Read both pipes before waiting, so a large listing cannot fill a pipe and stall.
        let errBox = DataBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        group.wait()
        let errData = errBox.data
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw UsageError("\(argv.joined(separator: " ")) failed in \(dir) (status \(process.terminationStatus)): \(message)")
        }
        var paths: [SyncPath] = []
        for raw in data.split(separator: 0) where !raw.isEmpty {
            guard let path = SyncPath(Array(raw)) else {
                throw UsageError("\(argv[0]) listed an unsafe path '\(SyncPath.printable(Array(raw)))' in \(dir)")
            }
            paths.append(path)
        }
        return paths
    }
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
}

/// Runs blocking work (file system walks, reads, child processes) on a
/// Dispatch thread rather than the cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}
