import AgentProtocol
import FoundationEssentials
import SyncCore

/// Typed wrappers for the sync operations (docs/protocol.md, "Sync").
extension AgentClient {
    /// Begins a sync of `root` and returns the destination's manifest (fetched with
    /// `fs.read` when the agent left it in a file) with the sync's id in `result.sync`.
    public func syncManifest(root: String, inlineLimit: Int? = nil, adopt: Bool = false, waitMs: Int? = nil) async throws -> (Manifest, SyncScanResult) {
        let params = SyncScanParams(root: root, inlineLimit: inlineLimit, adopt: adopt ? true : nil, waitMs: waitMs)
        guard case .syncScan(let result) = try await call(.syncScan(params)) else {
            throw AgentClientError(.protocolViolation, "unexpected reply type for sync.scan")
        }
        do {
            return (try await manifest(of: result), result)
        } catch {
            // The scan began a sync, which holds DEST until it ends: end it now, or
            // the destination stays locked until the session ends.
            if result.sync != nil { try? await syncAbort(root: root, sync: result.sync) }
            throw error
        }
    }

    /// The manifest a scan returned inline or left in a file.
    private func manifest(of result: SyncScanResult) async throws -> Manifest {
        let bytes: [UInt8]
        if let data = result.data {
            bytes = [UInt8](data)
        } else if let path = result.path {
            guard (0...(1 << 31)).contains(result.size) else {
                throw AgentClientError(.protocolViolation, "sync.scan: manifest size \(result.size) out of range")
            }
            bytes = try await readAll(path)
            guard Int64(bytes.count) == result.size else {
                throw AgentClientError(.protocolViolation, "sync.scan: read \(bytes.count) of \(result.size) manifest bytes from \(path)")
            }
        } else {
            throw AgentClientError(.protocolViolation, "sync.scan: neither data nor path in the reply")
        }
        do {
            return try Manifest(decoding: bytes)
        } catch {
            throw AgentClientError(.protocolViolation, "sync.scan: \(error.message)")
        }
    }

    /// Applies one batch of actions of the sync `sync` (from `syncManifest`); `save` ends the sync.
    public func syncApply(root: String, sync: String?, batch: [UInt8], save: Bool = false) async throws {
        _ = try await call(.syncApply(SyncApplyParams(root: root, batch: Data(batch), save: save ? true : nil, sync: sync)))
    }

    /// Ends the sync `sync` without finishing it: the agent drops its unfinished files and releases the destination.
    public func syncAbort(root: String, sync: String?) async throws {
        _ = try await call(.syncApply(SyncApplyParams(root: root, batch: Data(SyncBatch.encode([])), sync: sync, abort: true)))
    }
}
