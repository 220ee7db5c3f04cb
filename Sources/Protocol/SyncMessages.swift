import FoundationEssentials

/// `sync.scan`: the destination's manifest (docs/protocol.md, "Sync").
public struct SyncScanParams: Codable, Sendable, Equatable {
    /// The destination root (absolute; not `/`, not a home directory). Created if missing.
    public var root: String
    /// Largest manifest returned inline in `data` (default and maximum 2 MiB);
    /// a larger one is left in a file for `fs.read`.
    public var inlineLimit: Int?
    public init(root: String, inlineLimit: Int? = nil) {
        self.root = root
        self.inlineLimit = inlineLimit
    }
}

public struct SyncScanResult: Codable, Sendable, Equatable {
    /// Bytes of the binary manifest.
    public var size: Int64
    /// The manifest, when it is at most `inlineLimit` bytes.
    public var data: Data?
    /// Otherwise, the agent-side file holding it (read it with `fs.read`).
    public var path: String?
    public var entries: Int
    /// Files read and hashed because the agent's scan cache did not know them.
    public var hashedFiles: Int
    public init(size: Int64, data: Data?, path: String?, entries: Int, hashedFiles: Int) {
        self.size = size
        self.data = data
        self.path = path
        self.entries = entries
        self.hashedFiles = hashedFiles
    }
}

/// `sync.apply`: a batch of binary actions applied in order below `root`.
public struct SyncApplyParams: Codable, Sendable, Equatable {
    public var root: String
    public var batch: Data
    /// Persist the agent's scan cache after this batch (the controller sets it on its last).
    public var save: Bool?
    public init(root: String, batch: Data, save: Bool? = nil) {
        self.root = root
        self.batch = batch
        self.save = save
    }
}

public struct SyncApplyResult: Codable, Sendable, Equatable {
    /// Actions applied (all of the batch's: a failure is an error reply instead).
    public var actions: Int
    public init(actions: Int) { self.actions = actions }
}

extension ProtocolConstants {
    /// Largest `sync.apply` batch, in bytes before base64 (the line must stay under `maxLineLength`).
    public static let maxSyncBatch = 2 * 1024 * 1024 + 64 * 1024
    /// Largest manifest returned inline by `sync.scan`.
    public static let maxInlineManifest = 2 * 1024 * 1024
}
