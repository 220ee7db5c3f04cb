import AgentProtocol
import Foundation
import SyncCore

/// `run-tests --sync`: the working copy to every target before listing, into
/// a per-project directory under the agent's cache, so a second run moves only
/// what changed (docs/sync.md). Each target gets the runner for its own copy.
extension RunSession {
    /// Whether to sync: `--sync`/`--no-sync`, else on when a target is remote (ssh, or aws
    /// resolved to ssh) and --workdir is absent.
    var syncEnabled: Bool {
        if let explicit = command.sync { return explicit }
        let remote = specs.contains { if case .ssh = $0 { true } else { false } }
        return remote && command.workdir == nil
    }

    /// The directory a target's copy lives in: `~/.cache/automation/work/<project>` of the agent's user.
    static func syncDirectory(_ client: AgentClient, project: String) async throws -> String {
        let (result, stdout, stderr) = try await client.run(ExecParams(argv: ["/bin/sh", "-c", #"printf %s "$HOME""#]))
        let home = String(decoding: stdout, as: UTF8.self)
        guard result.exitCode == 0, home.hasPrefix("/"), home.count > 1 else {
            throw RunnerError("cannot find the agent user's home directory on the target (\(String(decoding: stderr, as: UTF8.self))); pass --workdir")
        }
        let safe = String(project.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        return "\(home)/.cache/automation/work/\(safe.isEmpty || safe.hasPrefix(".") ? "project" + safe : safe)"
    }

    /// Syncs every target in parallel and returns each one's runner (same order as `targets`).
    func syncTargets(_ targets: [Target]) async throws -> [any TestRunnerAdapter] {
        guard syncEnabled else { return targets.map { _ in runner } }
        let selection = try await offPool {
            try SourceSelection.resolve(source: nil, cwd: FileManager.default.currentDirectoryPath, includeVCS: false)
        }
        FileHandle.standardError.write(Data("syncing \(selection.root) to \(targets.count) target\(targets.count == 1 ? "" : "s")\n".utf8))
        let tree = try await SourceTree.scan(selection, excludes: ExcludeRules([]), cacheDirectory: try? command.global.state.directory("cache/sync"))
        let project = projectName
        let runners = try await withThrowingTaskGroup(of: (Int, String, SyncSummary).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask {
                    let dir = if let root = target.spec.workRoot { root + "/src" } else {
                        try await Self.syncDirectory(target.client, project: project)
                    }
                    var sync = TargetSync(target: target.spec.description, client: target.client, destination: dir)
                    // Our own directory: an unmarked copy there was left by a version before the marker.
                    sync.adopt = true
                    sync.onWaiting = { message in FileHandle.standardError.write(Data("\(message)\n".utf8)) }
                    let summary = try await sync.run(tree)
                    return (index, dir, summary)
                }
            }
            var out = [(any TestRunnerAdapter)?](repeating: nil, count: targets.count)
            for try await (index, dir, summary) in group {
                FileHandle.standardError.write(Data("sync \(selection.root) -> \(dir): \(summary.line)\n".utf8))
                out[index] = runner(workdir: dir)
            }
            return out.map { $0! }
        }
        return runners
    }

    /// The same runner with another working directory.
    func runner(workdir: String) -> any TestRunnerAdapter {
        var settings = self.settings
        settings.workdir = workdir
        switch runner {
        case let r as CommandTestRunner: return CommandTestRunner(settings: settings, listCommand: r.listCommand, testCommand: r.testCommand)
        case let r as MercurialTestRunner: return MercurialTestRunner(settings: settings, build: r.build)
        case is PytestTestRunner: return PytestTestRunner(settings: settings)
        default: return runner
        }
    }
}
