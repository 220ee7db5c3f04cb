import AgentProtocol
import Synchronization
import SyncCore

/// The syncs one session has begun with `sync.scan` and not ended yet, by id.
/// Each holds its destination open and locked until its last `sync.apply`,
/// an error, an abort, or the end of the session (`endAll`). Used from the
/// session's serial file worker, like the session's end (`endAll`); the
/// mutex guards the table itself.
final class SyncTable: Sendable {
    private struct State {
        var syncs: [String: SyncDestination] = [:]
        /// The session is over: a scan finishing now ends its sync at once.
        var closed = false
    }

    private let state = Mutex(State())

    /// A new sync, replacing one this session left open on the same directory
    /// (by device and inode, whatever path reached it: waiting for its own lock
    /// would only block the session). `body` builds the reply; the sync is
    /// entered only when that succeeds, and ended otherwise.
    func begin(_ requested: String, home: String?, cacheDirectory: String?, adopt: Bool, waitNs: UInt64,
               _ body: (SyncDestination) throws(SyncError) -> Result<ReplyBody, ProtocolError>) throws(SyncError) -> Result<ReplyBody, ProtocolError> {
        // The wait for another session's sync (at most `waitNs`) happens under the
        // mutex, but `endAll` runs on the same serial file worker as this scan,
        // so it waits for the scan whatever the mutex does.
        try state.withLock { state throws(SyncError) -> Result<ReplyBody, ProtocolError> in
            let root = try SyncRoot.resolve(requested, home: home)
            for (id, open) in state.syncs where open.root.identity == root.identity || open.root.requested == root.requested {
                open.end()
                state.syncs[id] = nil
            }
            let sync = try SyncDestination.begin(root, cacheDirectory: cacheDirectory, adopt: adopt, waitNs: waitNs)
            let reply: Result<ReplyBody, ProtocolError>
            do throws(SyncError) {
                reply = try body(sync)
            } catch {
                sync.end()
                throw error
            }
            guard case .success = reply else {
                sync.end()
                return reply
            }
            guard !state.closed else {
                sync.end()
                return .failure(ProtocolError(.unknownSync, "the session ended while \(requested) was scanned; the sync was ended"))
            }
            state.syncs[sync.id] = sync
            return reply
        }
    }

    /// Runs `body` on the sync named `id` (or, without one, this session's only sync of `root`);
    /// the sync is ended and forgotten when `body` throws or ends it.
    func with(id: String?, root: String, _ body: (SyncDestination) throws(SyncError) -> Void) throws(SyncError) -> Bool {
        let checked = try? SyncRoot.check(root, home: nil)
        // Under the mutex: a batch's work is bounded, and the session's end waits for it.
        return try state.withLock { state throws(SyncError) -> Bool in
            let key: String? = if let id { id } else { state.syncs.first { $0.value.root.requested == checked }?.key }
            guard let key, let sync = state.syncs[key] else { return false }
            do throws(SyncError) {
                try body(sync)
            } catch {
                sync.end()
                state.syncs[key] = nil
                throw error
            }
            if sync.ended { state.syncs[key] = nil }
            return true
        }
    }

    /// Ends every sync of the session (it is over): each root is released.
    func endAll() {
        state.withLock { state in
            state.closed = true
            for sync in state.syncs.values { sync.end() }
            state.syncs = [:]
        }
    }
}
