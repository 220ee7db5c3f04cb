/// What to do to make a destination tree equal to a source tree, from their
/// manifests alone. Pure: tests drive it without any file system.
public struct SyncPlan: Equatable, Sendable {
    /// Deletions (no path below one deleted), directory modes opened for
    /// writing, new directories (parents first), symlinks.
    public var before: [SyncAction] = []
    /// Files whose content is missing or differs on the destination.
    public var sends: [ManifestEntry] = []
    /// Mode changes of unchanged files, then final directory modes (deepest first).
    public var after: [SyncAction] = []

    public var deletions: Int { before.reduce(0) { if case .delete = $1 { $0 + 1 } else { $0 } } }
    public var sendBytes: UInt64 { sends.reduce(0) { $0 + $1.size } }
    public var isEmpty: Bool { before.isEmpty && sends.isEmpty && after.isEmpty }

    public init(source: Manifest, destination: Manifest) {
        let src = source.byPath
        var dst = destination.byPath
        // 1. Deletions: gone from the source, or of another kind there.
        var deletes: [SyncAction] = []
        var deletedDirs: Set<SyncPath> = []
        for entry in destination.entries {
            if Self.hasAncestor(entry.path, in: deletedDirs) { dst[entry.path] = nil; continue }
            if let s = src[entry.path], s.kind == entry.kind { continue }
            deletes.append(.delete(entry.path))
            if entry.kind == .directory { deletedDirs.insert(entry.path) }
            dst[entry.path] = nil
        }
        // 2. New directories (parents first, created writable), files and links.
        var dirModes: [SyncPath: UInt32] = [:]
        var mkdirs: [SyncAction] = [], links: [SyncAction] = []
        for entry in source.entries {
            let d = dst[entry.path]
            switch entry.kind {
            case .directory:
                if let d {
                    dirModes[entry.path] = d.mode
                } else {
                    mkdirs.append(.mkdir(entry.path, mode: entry.mode | 0o700))
                    dirModes[entry.path] = entry.mode | 0o700
                }
            case .symlink:
                if d?.target != entry.target { links.append(.symlink(entry.path, target: entry.target)) }
            case .file:
                if let d, d.digest == entry.digest, d.size == entry.size {
                    if d.mode != entry.mode { after.append(.chmod(entry.path, mode: entry.mode)) }
                } else {
                    sends.append(entry)
                }
            }
        }
        // 3. Kept directories that something is written into are opened for
        //    writing first (a deletion inside needs it too) and closed at the end.
        var touched: Set<SyncPath> = []
        for path in (deletes + mkdirs + links).map(\.path) + sends.map(\.path) {
            var p = path.parent
            while let q = p, touched.insert(q).inserted { p = q.parent }
        }
        for entry in source.entries where entry.kind == .directory && touched.contains(entry.path) {
            if let mode = dst[entry.path]?.mode, mode & 0o700 != 0o700 {
                before.append(.chmod(entry.path, mode: mode | 0o700))
                dirModes[entry.path] = mode | 0o700
            }
        }
        before += deletes + mkdirs + links
        // 4. Final directory modes, deepest first so that closing a parent comes last.
        let dirs = source.entries.filter { $0.kind == .directory && dirModes[$0.path] != $0.mode }
        for entry in dirs.sorted(by: { $0.path.depth > $1.path.depth }) {
            after.append(.chmod(entry.path, mode: entry.mode))
        }
    }

    static func hasAncestor(_ path: SyncPath, in set: Set<SyncPath>) -> Bool {
        guard !set.isEmpty else { return false }
        var p = path.parent
        while let q = p {
            if set.contains(q) { return true }
            p = q.parent
        }
        return false
    }
}
