import AgentProtocol
import FoundationEssentials
import Glibc
import SyncCore

/// `sync.scan` and `sync.apply`, run on the session's file worker queue.
/// The scan cache of each root lives in memory for the agent's lifetime and in
/// ~/.cache/automation/sync between agents.
enum SyncOperations {
    static let cacheDirectory: String? = {
        guard let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") else { return nil }
        return home + "/.cache/automation/sync"
    }()

    static func scan(_ p: SyncScanParams) -> Result<ReplyBody, ProtocolError> {
        do throws(SyncError) {
            let destination = try SyncDestination.open(p.root, cacheDirectory: cacheDirectory)
            let (manifest, stats) = try destination.scan()
            let bytes = manifest.encoded()
            let limit = p.inlineLimit ?? ProtocolConstants.maxInlineManifest
            if bytes.count <= limit {
                return .success(.syncScan(SyncScanResult(size: Int64(bytes.count), data: Data(bytes), path: nil,
                                                         entries: manifest.entries.count, hashedFiles: stats.hashedFiles)))
            }
            guard let cacheDirectory else {
                return .failure(ProtocolError(.tooLarge, "the manifest of \(p.root) is \(bytes.count) bytes and HOME is unset, so there is nowhere to leave it"))
            }
            let file = "\(cacheDirectory)/\(SHA256Hasher.digest(Array(destination.root.utf8)).hex).manifest"
            guard FileIO.writeAtomically(file, bytes) else {
                return .failure(ProtocolError(.ioError, "cannot write the manifest to \(file)"))
            }
            return .success(.syncScan(SyncScanResult(size: Int64(bytes.count), data: nil, path: file,
                                                     entries: manifest.entries.count, hashedFiles: stats.hashedFiles)))
        } catch {
            return .failure(protocolError(error))
        }
    }

    static func apply(_ p: SyncApplyParams) -> Result<ReplyBody, ProtocolError> {
        do throws(SyncError) {
            let actions = try SyncBatch.decode([UInt8](p.batch))
            let destination = try SyncDestination.open(p.root, cacheDirectory: cacheDirectory)
            try destination.apply(actions, save: p.save == true)
            return .success(.syncApply(SyncApplyResult(actions: actions.count)))
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
