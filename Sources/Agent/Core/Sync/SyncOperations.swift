import AgentProtocol
import FoundationEssentials
import Glibc
import SyncCore

/// `sync.scan` and `sync.apply`, run on the session's file worker queue.
/// A scan begins a sync (the destination resolved, opened, locked and
/// claimed once); its applies name it by id and reach the destination only
/// through the descriptor the scan opened. The scan cache of each root lives
/// in memory for the agent's lifetime and in ~/.cache/automation/sync between agents.
enum SyncOperations {
    static let cacheDirectory: String? = {
        guard let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") else { return nil }
        return home + "/.cache/automation/sync"
    }()

    static var home: String? { getenv("HOME").map { String(cString: $0) } }

    static func scan(_ p: SyncScanParams, syncs: SyncTable) -> Result<ReplyBody, ProtocolError> {
        do throws(SyncError) {
            let waitNs = UInt64(max(0, min(p.waitMs ?? 0, ProtocolConstants.maxSyncWaitMs))) * 1_000_000
            let scanned = try syncs.begin(p.root, home: home, cacheDirectory: cacheDirectory, adopt: p.adopt == true, waitNs: waitNs) { sync throws(SyncError) in
                let (manifest, stats) = try sync.scan()
                return SyncScanReply(manifest: manifest.encoded(), entries: manifest.entries.count, hashedFiles: stats.hashedFiles,
                                     sync: sync.id, root: sync.root.path)
            }
            let bytes = scanned.manifest
            let limit = p.inlineLimit ?? ProtocolConstants.maxInlineManifest
            if bytes.count <= limit {
                return .success(.syncScan(SyncScanResult(size: Int64(bytes.count), data: Data(bytes), path: nil, entries: scanned.entries,
                                                         hashedFiles: scanned.hashedFiles, sync: scanned.sync, root: scanned.root)))
            }
            guard let cacheDirectory else {
                return .failure(ProtocolError(.tooLarge, "the manifest of \(p.root) is \(bytes.count) bytes and HOME is unset, so there is nowhere to leave it"))
            }
            // One per destination (the lock keeps its syncs apart), overwritten by the next.
            let file = "\(cacheDirectory)/\(SHA256Hasher.digest(Array(scanned.root.utf8)).hex).manifest"
            guard FileIO.writeAtomically(file, bytes) else {
                return .failure(ProtocolError(.ioError, "cannot write the manifest to \(file)"))
            }
            return .success(.syncScan(SyncScanResult(size: Int64(bytes.count), data: nil, path: file, entries: scanned.entries,
                                                     hashedFiles: scanned.hashedFiles, sync: scanned.sync, root: scanned.root)))
        } catch {
            return .failure(protocolError(error))
        }
    }

    static func apply(_ p: SyncApplyParams, syncs: SyncTable) -> Result<ReplyBody, ProtocolError> {
        do throws(SyncError) {
            var count = 0
            let found = try syncs.with(id: p.sync, root: p.root) { sync throws(SyncError) in
                if p.abort == true {
                    sync.end()
                    return
                }
                let actions = try SyncBatch.decode([UInt8](p.batch))
                count = actions.count
                try sync.apply(actions, save: p.save == true)
            }
            guard found else {
                return .failure(ProtocolError(.unknownSync, "no sync \(p.sync.map { "'\($0)'" } ?? "of \(p.root)") in this session: it ended (with its last batch, an error or an abort) or sync.scan did not begin it; send sync.scan first"))
            }
            return .success(.syncApply(SyncApplyResult(actions: count)))
        } catch {
            return .failure(protocolError(error))
        }
    }

    static func protocolError(_ error: SyncError) -> ProtocolError {
        switch error.code {
        case .badData: return ProtocolError(.invalidField, error.message)
        case .unsafePath: return ProtocolError(.unsafePath, error.message)
        case .badRoot: return ProtocolError(.badRoot, error.message)
        case .digestMismatch, .changing: return ProtocolError(.digestMismatch, error.message)
        case .busy: return ProtocolError(.busy, error.message)
        case .notAdopted: return ProtocolError(.notAdopted, error.message)
        case .system:
            switch error.errno {
            case ENOENT: return ProtocolError(.notFound, error.message)
            case EACCES, EPERM: return ProtocolError(.permissionDenied, error.message)
            case EEXIST: return ProtocolError(.exists, error.message)
            case ENOTDIR: return ProtocolError(.notADirectory, error.message)
            case EISDIR: return ProtocolError(.isADirectory, error.message)
            case ENOTEMPTY: return ProtocolError(.notEmpty, error.message)
            case ENOSPC, EDQUOT: return ProtocolError(.noSpace, error.message)
            case EROFS: return ProtocolError(.readOnly, error.message)
            case EFBIG: return ProtocolError(.tooLarge, error.message)
            default: return ProtocolError(.ioError, error.message)
            }
        }
    }
}
