import Synchronization
import SyncCore

/// The syncs one session has begun with `sync.scan` and not ended yet, by id.
/// Each holds its destination open and locked until its last `sync.apply`,
/// an error, an abort, or the end of the session (`endAll`). Used from the
/// session's serial file worker; the mutex is for the session's end.
final class SyncTable: Sendable {
    private let syncs = Mutex<[String: SyncDestination]>([:])

    /// A new sync, replacing one of the same requested root that this session left open.
    func begin(_ requested: String, home: String?, cacheDirectory: String?, adopt: Bool, waitNs: UInt64,
               _ body: (SyncDestination) throws(SyncError) -> SyncScanReply) throws(SyncError) -> SyncScanReply {
        try syncs.withLock { syncs throws(SyncError) -> SyncScanReply in
            let checked = try SyncRoot.check(requested, home: home)
            for (id, open) in syncs where open.root.requested == checked {
                open.end()
                syncs[id] = nil
            }
            let sync = try SyncDestination.begin(checked, home: home, cacheDirectory: cacheDirectory, adopt: adopt, waitNs: waitNs)
            do throws(SyncError) {
                let reply = try body(sync)
                syncs[sync.id] = sync
                return reply
            } catch {
                sync.end()
                throw error
            }
        }
    }

    /// Runs `body` on the sync named `id` (or, without one, this session's only sync of `root`);
    /// the sync is ended and forgotten when `body` throws or ends it.
    func with(id: String?, root: String, _ body: (SyncDestination) throws(SyncError) -> Void) throws(SyncError) -> Bool {
        try syncs.withLock { syncs throws(SyncError) -> Bool in
            let key: String? = if let id { id } else {
                syncs.first { $0.value.root.requested == (try? SyncRoot.check(root, home: nil)) }?.key
            }
            guard let key, let sync = syncs[key] else { return false }
            do throws(SyncError) {
                try body(sync)
            } catch {
                sync.end()
                syncs[key] = nil
                throw error
            }
            if sync.ended { syncs[key] = nil }
            return true
        }
    }

    /// Ends every sync of the session (it is over): each root is released.
    func endAll() {
        syncs.withLock { syncs in
            for sync in syncs.values { sync.end() }
            syncs = [:]
        }
    }
}

/// What a scan hands back to its reply.
struct SyncScanReply {
    var manifest: [UInt8]
    var entries: Int
    var hashedFiles: Int
    var sync: String
    var root: String
}
