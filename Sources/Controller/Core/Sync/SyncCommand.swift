import ArgumentParser
import Foundation
import Logging
import SyncCore

/// `automation sync`: the working copy to every target, incrementally.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Copy the working copy (uncommitted edits included) to DEST on every target, sending only what changed.",
        discussion: """
            SRC defaults to the root of the Mercurial or Git working copy around the current \
            directory, else the current directory. From a working copy travel the files as they \
            are on disk: tracked, added and unknown-but-not-ignored ones; removed files disappear \
            on the target. Without a VCS the whole tree travels. Symlinks are copied as links, \
            modes are kept, and files on the target not in the source are deleted. DEST must be \
            new, empty, or marked by an earlier sync (its .automation-sync directory); a populated \
            directory without the marker is refused unless --adopt is given. Prints one summary \
            line per target; exit 0 when every target is in sync, 64 for a usage error, 75 when \
            the only trouble was the moment (a source file kept changing while sent, or another \
            sync held DEST past --lock-timeout: sync again), 255 when a target failed (the message \
            names the target and the path).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Argument(help: "The tree to copy (default: the working copy's root, else the current directory).")
    var source: String?

    @Option(help: ArgumentHelp("Absolute destination directory on each target; created if missing. Not / nor a home directory, not a symbolic link.", valueName: "DEST"))
    var to: String

    @Flag(help: "Take over a DEST that holds files but no marker of an earlier sync (what the source lacks is deleted there).")
    var adopt = false

    @Option(help: ArgumentHelp("Seconds to wait while another sync to the same DEST runs (0-86400).", valueName: "SECONDS"))
    var lockTimeout = 600

    @Option(help: ArgumentHelp("Leave out paths matching this shell pattern (a pattern without / matches any name); repeatable.", valueName: "PATTERN"))
    var exclude: [String] = []

    @Flag(help: "Also copy the .hg or .git directory (some Mercurial tests only run from a repository).")
    var includeVCS = false

    @Flag(help: "Print one JSON object per target instead of the summary line.")
    var json = false

    mutating func validate() throws {
        guard to.hasPrefix("/") else { throw ValidationError("--to must be an absolute path on the target, got '\(to)'") }
        guard to.trimmingCharacters(in: CharacterSet(charactersIn: "/")).isEmpty == false else {
            throw ValidationError("--to /: refusing to sync into the root directory")
        }
        guard (0...86_400).contains(lockTimeout) else { throw ValidationError("--lock-timeout must be 0 to 86400 seconds, got \(lockTimeout)") }
    }

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let specs = try targets.specs()
            let selection = try await offPool { [source, includeVCS] in
                try SourceSelection.resolve(source: source, cwd: FileManager.default.currentDirectoryPath, includeVCS: includeVCS)
            }
            let cacheDirectory = try? global.state.directory("cache/sync")
            // The scan runs while the targets connect.
            let excludes = ExcludeRules(exclude)
            let scan = Task { try await SourceTree.scan(selection, excludes: excludes, cacheDirectory: cacheDirectory) }
            let progress = SyncProgressLine(live: isatty(2) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb")
            let targetOptions = targets, state = global.state, destination = to, adopt = adopt, lockTimeout = lockTimeout
            let results = await withTaskGroup(of: (Int, Result<SyncSummary, Error>).self) { group in
                for (index, spec) in specs.enumerated() {
                    group.addTask {
                        do {
                            let client = try await Targets.connect(spec, options: targetOptions, state: state, logger: logger)
                            defer { client.close() }
                            let tree = try await scan.value
                            var sync = TargetSync(target: "\(spec)", client: client, destination: destination)
                            sync.adopt = adopt
                            sync.lockTimeout = .seconds(lockTimeout)
                            sync.onWaiting = { message in writeAll(2, Array("\(message)\n".utf8)) }
                            sync.onResolved = { message in writeAll(2, Array("\(message)\n".utf8)) }
                            return (index, .success(try await sync.run(tree) { progress.update($0) }))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                var results: [(Int, Result<SyncSummary, Error>)] = []
                for await result in group { results.append(result) }
                return results.sorted { $0.0 < $1.0 }
            }
            progress.finish()
            // A source that cannot be scanned is one error, not one per target.
            let tree = try await scan.value
            logger.debug("sync.source", metadata: ["sync.root": "\(selection.root)", "sync.vcs": "\(selection.vcs.rawValue)",
                                                   "sync.entries": "\(tree.manifest.entries.count)", "sync.hashed": "\(tree.stats.hashedFiles)"])
            var failed = false, onlyTheMoment = true
            for (index, result) in results {
                switch result {
                case .success(let summary):
                    print(json ? summary.json : summary.line)
                case .failure(let error):
                    failed = true
                    if let error = error as? SyncError, [.changing, .busy].contains(error.code) {} else { onlyTheMoment = false }
                    CommandRunner.report("\(specs[index]): sync to \(destination) failed: \(error)")
                }
            }
            return !failed ? 0 : onlyTheMoment ? ExitCodes.tryAgain : ExitCodes.infrastructure
        }
    }
}

extension SyncSummary {
    var json: String {
        #"{"target":"\#(target)","filesSent":\#(filesSent),"bytesSent":\#(bytesSent),"deleted":\#(deleted),"otherChanges":\#(otherChanges),"remoteHashed":\#(remoteHashed),"durationUs":\#(duration.microseconds)}"#
    }
}

/// One progress line on stderr when it is a terminal, rewritten in place.
final class SyncProgressLine: @unchecked Sendable {
    private let live: Bool
    private let lock = NSLock()
    private var latest: [String: SyncProgress] = [:]
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var drawn = false

    init(live: Bool) { self.live = live }

    func update(_ p: SyncProgress) {
        guard live else { return }
        lock.lock()
        defer { lock.unlock() }
        latest[p.target] = p
        let now = ContinuousClock.now
        guard now - lastDraw > .milliseconds(100) else { return }
        lastDraw = now
        let text = latest.keys.sorted().map { key in
            let p = latest[key]!
            let pct = p.bytesTotal == 0 ? 100 : Int(Double(p.bytesDone) * 100 / Double(p.bytesTotal))
            return "\(key) \(p.filesDone)/\(p.filesTotal) files \(pct)%"
        }.joined(separator: "  ")
        writeAll(2, Array("\r\u{1B}[K\(text)".utf8))
        drawn = true
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { writeAll(2, Array("\r\u{1B}[K".utf8)) }
    }
}
