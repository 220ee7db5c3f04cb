import Foundation
import SyncCore

/// The source side of a sync: the selection scanned into a manifest with the
/// controller's scan cache (kept in the state directory per source root).
public struct SourceTree: Sendable {
    public let selection: SourceSelection
    public let manifest: Manifest
    public let stats: TreeScanner.Stats
    public let reader: SourceReader

    public static func scan(_ selection: SourceSelection, excludes: ExcludeRules, cacheDirectory: String?) async throws -> SourceTree {
        try await offPool {
            let cacheFile = cacheDirectory.map { "\($0)/\(SHA256Hasher.digest(Array(selection.root.utf8)).hex).cache" }
            var cache = cacheFile.map(ScanCache.load) ?? ScanCache()
            var options = TreeScanner.Options(selection: selection.files)
            options.extraTrees = selection.extraTrees
            // A destination's marker never travels (SRC may be an earlier DEST).
            options.reservedRootNames = [SyncRoot.markerName]
            let vcsDirectories: Set<[UInt8]> = [Array(".hg".utf8), Array(".git".utf8)]
            let walkingPlainTree = selection.files == nil
            options.exclude = { path, _ in
                // A plain tree still leaves VCS metadata out, unless asked for with --include-vcs.
                if walkingPlainTree && path.parent == nil && vcsDirectories.contains(Array(path.name)) { return true }
                return excludes.excludes(path)
            }
            let (manifest, stats) = try TreeScanner.scan(root: selection.root, options: options, cache: &cache)
            if let cacheFile { cache.saveIfDirty(cacheFile) }
            return SourceTree(selection: selection, manifest: manifest, stats: stats, reader: try SourceReader(root: selection.root))
        }
    }
}
