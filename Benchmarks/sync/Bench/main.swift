import ArgumentParser
import AutomationKit
import Foundation
import Logging
import SyncCore

/// Holds one agent connection and syncs SRC to DEST each time a line "sync"
/// arrives on stdin, printing "<ms> <files sent> <bytes sent>" per sync
/// (Benchmarks/sync/run.sh drives it between edits).
///
///     automation-sync-bench SRC DEST STATE-DIR TARGET-OPTIONS…
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--sha256" {
    // Hash throughput of SyncCore's SHA-256 (the agent's), 256 MiB in 1 MiB buffers.
    let buffer = [UInt8](repeating: 0x5a, count: 1 << 20)
    var hasher = SHA256Hasher()
    let start = ContinuousClock.now
    for _ in 0..<256 { hasher.update(buffer) }
    _ = hasher.finalize()
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(String(format: "SyncCore SHA-256: %.0f MB/s", 256 * 1.048576 / seconds))
    exit(0)
}
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: automation-sync-bench SRC DEST STATE-DIR [--target T …]\n".utf8))
    exit(64)
}
var logger = Logger(label: "sync-bench")
logger.logLevel = .warning
let options = try TargetOptions.parse(Array(arguments.dropFirst(3)))
let state = StatePaths(explicit: arguments[2])
let spec = try options.specs()[0]
let client = try await Targets.connect(spec, options: options, state: state, logger: logger)
let selection = try SourceSelection.resolve(source: arguments[0], cwd: FileManager.default.currentDirectoryPath, includeVCS: false)
let cache = try state.directory("cache/sync")
while let line = readLine() {
    guard line == "sync" else { continue }
    let start = ContinuousClock.now
    let tree = try await SourceTree.scan(selection, excludes: ExcludeRules([]), cacheDirectory: cache)
    let summary = try await TargetSync(target: "\(spec)", client: client, destination: arguments[1]).run(tree)
    let elapsed = ContinuousClock.now - start
    let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    FileHandle.standardOutput.write(Data(String(format: "%.1f %d %d\n", ms, summary.filesSent, summary.bytesSent).utf8))
}
client.close()
