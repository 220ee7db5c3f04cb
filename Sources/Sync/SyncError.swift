/// Why a sync step failed, with the path involved and the errno when there is one.
public struct SyncError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Malformed binary data (a manifest or a batch).
        case badData = "invalid_field"
        /// A path that would leave the root: absolute, `..`, NUL, or through a symlink.
        case unsafePath = "unsafe_path"
        /// The root itself is not allowed (`/`, a home directory, not absolute).
        case badRoot = "bad_root"
        /// A system call failed; `errno` says why.
        case system = "system"
        /// A file kept changing while it was read.
        case changing = "file_changing"
        /// What arrived does not hash to what was announced.
        case digestMismatch = "digest_mismatch"
        /// Another sync holds the destination (docs/sync.md, "Safety").
        case busy = "busy"
        /// The destination holds files and no marker of an earlier sync: refused without `adopt`.
        case notAdopted = "not_adopted"
    }

    public var code: Code
    public var message: String
    public var errno: Int32

    public init(_ code: Code, _ message: String, errno: Int32 = 0) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}
