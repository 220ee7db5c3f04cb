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
    static let cacheDirectory: String? = home.map { $0 + "/.cache/automation/sync" }

    /// The agent user's home: $HOME, or its entry in /etc/passwd when HOME is
    /// unset or not absolute (the static agent cannot ask NSS), so that the
    /// home guard never goes silently off.
    static let home: String? = {
        if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") { return home }
        return passwdHome(uid: getuid())
    }()

    /// The home field of `uid`'s line in /etc/passwd.
    static func passwdHome(uid: uid_t, file: String = "/etc/passwd") -> String? {
        guard let bytes = FileIO.readWhole(file, limit: 16 << 20) else { return nil }
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard fields.count >= 7, let id = UInt32(String(decoding: fields[2], as: UTF8.self)), id == uid else { continue }
            let home = String(decoding: fields[5], as: UTF8.self)
            return home.hasPrefix("/") ? home : nil
        }
        return nil
    }

    static func scan(_ p: SyncScanParams, syncs: SyncTable, home: String? = home,
                     cacheDirectory: String? = cacheDirectory) -> Result<ReplyBody, ProtocolError> {
        do throws(SyncError) {
            let waitNs = UInt64(max(0, min(p.waitMs ?? 0, ProtocolConstants.maxSyncWaitMs))) * 1_000_000
            // The reply is built (the manifest left in a file if need be) before the
            // sync is entered in the table: a scan that fails holds nothing.
            return try syncs.begin(p.root, home: home, cacheDirectory: cacheDirectory, adopt: p.adopt == true, waitNs: waitNs) { sync throws(SyncError) in
                let (manifest, stats) = try sync.scan()
                return reply(p, manifest: manifest.encoded(), entries: manifest.entries.count, hashedFiles: stats.hashedFiles,
                             sync: sync.id, root: sync.root.path, cacheDirectory: cacheDirectory)
            }
        } catch {
            return .failure(protocolError(error))
        }
    }

    /// The manifest inline, or left in a file of `cacheDirectory` when larger than the controller takes inline.
    static func reply(_ p: SyncScanParams, manifest bytes: [UInt8], entries: Int, hashedFiles: Int, sync: String, root: String,
                      cacheDirectory: String?) -> Result<ReplyBody, ProtocolError> {
        let limit = p.inlineLimit ?? ProtocolConstants.maxInlineManifest
        if bytes.count <= limit {
            return .success(.syncScan(SyncScanResult(size: Int64(bytes.count), data: Data(bytes), path: nil, entries: entries,
                                                     hashedFiles: hashedFiles, sync: sync, root: root)))
        }
        guard let cacheDirectory else {
            return .failure(ProtocolError(.tooLarge, "the manifest of \(p.root) is \(bytes.count) bytes and the agent has no home directory (HOME unset, no /etc/passwd entry), so there is nowhere to leave it"))
        }
        // One per destination (the lock keeps its syncs apart), overwritten by the next.
        let file = "\(cacheDirectory)/\(SHA256Hasher.digest(Array(root.utf8)).hex).manifest"
        guard FileIO.writeAtomically(file, bytes) else {
            return .failure(ProtocolError(.ioError, "cannot write the manifest to \(file)"))
        }
        return .success(.syncScan(SyncScanResult(size: Int64(bytes.count), data: nil, path: file, entries: entries,
                                                 hashedFiles: hashedFiles, sync: sync, root: root)))
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
