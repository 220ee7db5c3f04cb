import FoundationEssentials

public struct StatParams: Codable, Sendable, Equatable {
    public var path: String
    /// Report the link itself rather than what it points to (default false).
    public var noFollow: Bool?
    public init(path: String, noFollow: Bool? = nil) {
        self.path = path
        self.noFollow = noFollow
    }
}

/// Creates a directory and, like `mkdir -p`, its missing parents; an existing directory is fine.
public struct MkdirParams: Codable, Sendable, Equatable {
    public var path: String
    public var mode: UInt32?
    /// The session's scratch directory: the agent removes it (recursively,
    /// never following links) when the session ends, however it ends.
    public var scratch: Bool?
    public init(path: String, mode: UInt32? = nil, scratch: Bool? = nil) {
        self.path = path
        self.mode = mode
        self.scratch = scratch
    }
}

/// Writes a whole file atomically: a temporary file in the same directory,
/// fsync, then rename over the target. Readers see the old or the new content, never a mix.
public struct WriteParams: Codable, Sendable, Equatable {
    public var path: String
    public var data: Data
    public var mode: UInt32?
    public init(path: String, data: Data, mode: UInt32? = nil) {
        self.path = path
        self.data = data
        self.mode = mode
    }
}

/// Reads up to `length` bytes (at most `ProtocolConstants.maxChunkSize`) from `offset`.
public struct ReadParams: Codable, Sendable, Equatable {
    public var path: String
    public var offset: Int64?
    public var length: Int?
    public init(path: String, offset: Int64? = nil, length: Int? = nil) {
        self.path = path
        self.offset = offset
        self.length = length
    }
}

public struct ReadResult: Codable, Sendable, Equatable {
    public var data: Data
    /// The file's size when read, so that a caller knows whether more remains.
    public var size: Int64
    public init(data: Data, size: Int64) {
        self.data = data
        self.size = size
    }
}

/// Removes a file, link or (with `recursive`) a directory tree, never following links.
public struct RemoveParams: Codable, Sendable, Equatable {
    public var path: String
    public var recursive: Bool?
    /// Succeed when the path does not exist.
    public var missingOK: Bool?
    public init(path: String, recursive: Bool? = nil, missingOK: Bool? = nil) {
        self.path = path
        self.recursive = recursive
        self.missingOK = missingOK
    }
}

public struct ChmodParams: Codable, Sendable, Equatable {
    public var path: String
    public var mode: UInt32
    public init(path: String, mode: UInt32) {
        self.path = path
        self.mode = mode
    }
}

/// Changes ownership by numeric ids (the static agent cannot look up names).
public struct ChownParams: Codable, Sendable, Equatable {
    public var path: String
    public var uid: UInt32?
    public var gid: UInt32?
    public var noFollow: Bool?
    public init(path: String, uid: UInt32?, gid: UInt32?, noFollow: Bool? = nil) {
        self.path = path
        self.uid = uid
        self.gid = gid
        self.noFollow = noFollow
    }
}

/// Creates `path` as a symbolic link to `target`.
public struct SymlinkParams: Codable, Sendable, Equatable {
    public var target: String
    public var path: String
    public init(target: String, path: String) {
        self.target = target
        self.path = path
    }
}

public struct ListParams: Codable, Sendable, Equatable {
    public var path: String
    public init(path: String) { self.path = path }
}

public struct ListResult: Codable, Sendable, Equatable {
    public var entries: [FileInfo]
    public init(entries: [FileInfo]) { self.entries = entries }
}

/// What stat and list report about a file.
public struct FileInfo: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case file, directory, symlink, fifo, socket, charDevice, blockDevice, unknown
    }

    /// The entry's name in a listing; the path itself for stat.
    public var name: String
    public var kind: Kind
    public var size: Int64
    /// Permission bits (mode & 0o7777).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var mtimeNs: Int64
    /// The link's target, for symlinks.
    public var target: String?

    public init(name: String, kind: Kind, size: Int64, mode: UInt32, uid: UInt32, gid: UInt32, mtimeNs: Int64, target: String? = nil) {
        self.name = name
        self.kind = kind
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtimeNs = mtimeNs
        self.target = target
    }
}
