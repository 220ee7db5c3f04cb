import FoundationEssentials

/// `sync.scan`: the destination's manifest (docs/protocol.md, "Sync").
public struct SyncScanParams: Codable, Sendable, Equatable {
    /// The destination root (absolute; not `/`, not a home directory, not a symlink). Created if missing.
    public var root: String
    /// Largest manifest returned inline in `data` (default and maximum 2 MiB);
    /// a larger one is left in a file for `fs.read`.
    public var inlineLimit: Int?
    /// Take over a populated destination that has no marker of an earlier sync.
    public var adopt: Bool?
    /// How long to wait for another sync of the same destination to end before `busy` (0…60,000 ms, default 0).
    public var waitMs: Int?
    public init(root: String, inlineLimit: Int? = nil, adopt: Bool? = nil, waitMs: Int? = nil) {
        self.root = root
        self.inlineLimit = inlineLimit
        self.adopt = adopt
        self.waitMs = waitMs
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
    /// This sync's id, for its `sync.apply` requests.
    public var sync: String?
    /// The destination as resolved (links in its parents followed).
    public var root: String?
    public init(size: Int64, data: Data?, path: String?, entries: Int, hashedFiles: Int, sync: String? = nil, root: String? = nil) {
        self.size = size
        self.data = data
        self.path = path
        self.entries = entries
        self.hashedFiles = hashedFiles
        self.sync = sync
        self.root = root
    }
}

/// `sync.apply`: a batch of binary actions applied in order below `root`.
public struct SyncApplyParams: Codable, Sendable, Equatable {
    public var root: String
    public var batch: Data
    /// The last batch of the sync: persist the agent's scan cache and end the sync.
    public var save: Bool?
    /// The id `sync.scan` returned; without it, this session's sync of `root`.
    public var sync: String?
    /// End the sync without applying anything (the controller gave up): unfinished files are dropped.
    public var abort: Bool?
    public init(root: String, batch: Data, save: Bool? = nil, sync: String? = nil, abort: Bool? = nil) {
        self.root = root
        self.batch = batch
        self.save = save
        self.sync = sync
        self.abort = abort
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
    /// Longest `sync.scan` wait for another sync of the same destination.
    public static let maxSyncWaitMs = 60_000
}
