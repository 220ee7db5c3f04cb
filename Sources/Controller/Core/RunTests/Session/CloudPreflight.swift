import Foundation

/// What a run with `aws:N` targets needs on this machine, checked before anything is
/// launched or the account is even asked: the working copy's root (found as hg and git find
/// it, from the nearest directory above the current one that holds `.hg` or `.git`), the VCS
/// tool that lists its files for the sync, and for the mercurial runner `tests/run-tests.py`
/// and the test files named on the command line. A failure is a usage error (exit 64).
struct CloudPreflight: Sendable, Equatable {
    /// The working copy's root: what is synced, and what `--dry-run` lists the tests of.
    var root: String
    var vcs: SourceSelection.VCS

    /// The checks for `command` run from `cwd`; `environment` gives PATH and HG.
    static func check(_ command: RunTestsCommand, cwd: String, environment: [String: String]) throws -> CloudPreflight {
        let (root, vcs) = workingCopy(around: cwd)
        switch vcs {
        case .mercurial:
            let hg = environment["HG"] ?? "hg"
            guard executable(hg, path: environment["PATH"]) != nil else {
                throw UsageError("\(hg) is not \(hg.contains("/") ? "an executable file" : "on PATH"): it lists the files of \(root) to sync; "
                                 + "install Mercurial or set HG to its path")
            }
        case .git:
            guard executable("git", path: environment["PATH"]) != nil else {
                throw UsageError("git is not on PATH: it lists the files of \(root) to sync; install Git")
            }
        case .none:
            break
        }
        if command.runner == .mercurial {
            let tests = root + "/tests"
            guard FileManager.default.fileExists(atPath: tests + "/run-tests.py") else {
                throw UsageError("\(tests)/run-tests.py does not exist: \(root) is not a Mercurial source tree"
                                 + (vcs == .none ? " (no .hg or .git at or above it); run from a clone of Mercurial" : ""))
            }
            // Names only: a selection with flags in it is the runner's to read.
            if !command.selection.contains(where: { $0.hasPrefix("-") }) {
                let missing = command.selection.filter { name in
                    let file = name.split(separator: "#", maxSplits: 1).first.map(String.init) ?? name
                    return !FileManager.default.fileExists(atPath: file.hasPrefix("/") ? file : tests + "/" + file)
                }
                if !missing.isEmpty {
                    throw UsageError("no such test in \(tests): \(missing.joined(separator: ", "))")
                }
            }
        }
        return CloudPreflight(root: root, vcs: vcs)
    }

    /// The nearest directory at or above `cwd` holding `.hg` or `.git`, else `cwd` itself.
    static func workingCopy(around cwd: String) -> (String, SourceSelection.VCS) {
        var dir = URL(fileURLWithPath: cwd).standardizedFileURL
        while true {
            let found = SourceSelection.detect(dir.path)
            if found != .none { return (dir.path, found) }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return (cwd, .none) }
            dir = parent
        }
    }

    /// `name`'s path if it is an executable file (a path) or on `path` (a bare name).
    static func executable(_ name: String, path: String?) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in (path ?? "").split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }
}
