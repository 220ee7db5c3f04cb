import Glibc

/// A sync destination resolved once: the directory opened by descriptor,
/// which every later step of the sync uses (never the path again).
public final class ResolvedRoot {
    /// The path the controller named.
    public let requested: String
    /// Where that directory really is (links in its parents resolved).
    public let path: String
    /// The directory, opened without following a link at its last component.
    let fd: OwnedFD
    public let identity: SyncRoot.Identity
    /// True when this sync created the directory.
    public let created: Bool

    init(requested: String, path: String, fd: OwnedFD, identity: SyncRoot.Identity, created: Bool) {
        self.requested = requested
        self.path = path
        self.fd = fd
        self.identity = identity
        self.created = created
    }

    /// How to name it in a message: the path asked for, and where it resolved to when that differs.
    public var display: String { requested == path ? path : "\(requested) (resolved: \(path))" }
}

/// Which roots a sync may write to, and how they are opened.
public enum SyncRoot {
    /// The directory at DEST's top that marks it as ours (docs/sync.md, "Safety").
    public static let markerName: [UInt8] = Array(".automation-sync".utf8)

    /// A directory's identity: device and inode.
    public struct Identity: Hashable, Sendable {
        public var device: UInt64
        public var inode: UInt64
        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    /// The root without trailing slashes; refuses relative paths, `.`/`..`,
    /// NUL, `/` and a home directory itself (the user's, or `home`), as spelled.
    /// `resolve` checks the directory itself as well.
    public static func check(_ root: String, home: String?) throws(SyncError) -> String {
        var bytes = Array(root.utf8)
        while bytes.count > 1 && bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard bytes.first == UInt8(ascii: "/") else { throw SyncError(.badRoot, "destination '\(root)' is not an absolute path") }
        guard bytes.count > 1 else { throw SyncError(.badRoot, "refusing to sync into /: name a directory of its own") }
        if let problem = SyncPath.problem(Array(bytes.dropFirst())) {
            throw SyncError(.badRoot, "destination '\(root)': \(problem)")
        }
        let normalized = String(decoding: bytes, as: UTF8.self)
        if let home, !home.isEmpty, trimmed(home) == normalized {
            throw SyncError(.badRoot, "refusing to sync into \(root): it is a home directory; name a directory inside it")
        }
        return normalized
    }

    /// Checks `root`, creates its parents and itself if missing, and opens it:
    /// links in the parents are followed (resolved here, once), a link at the
    /// last component is refused, and the `/` and home guards apply to the
    /// directory opened, compared by device and inode.
    public static func resolve(_ root: String, home: String?) throws(SyncError) -> ResolvedRoot {
        let checked = try check(root, home: home)
        let bytes = Array(checked.utf8)
        let slash = bytes.lastIndex(of: UInt8(ascii: "/"))!
        let parent = slash == 0 ? "/" : String(decoding: bytes[..<slash], as: UTF8.self)
        let name = Array(bytes[(slash + 1)...])
        try createDirectories(parent)
        // O_PATH: only search permission is needed on the parent.
        guard let parentFD = OwnedFD.open(at: AT_FDCWD, Array(parent.utf8), oPath | O_DIRECTORY) else {
            throw Sys.error("open", "\(parent) (the parent of \(checked))")
        }
        var created = false
        if withCPath(name, { mkdirat(parentFD.raw, $0, 0o755) }) == 0 {
            created = true
        } else if errno != EEXIST {
            throw Sys.error("mkdir", checked)
        }
        guard let st = Sys.lstat(at: parentFD.raw, name) else { throw Sys.error("stat", checked) }
        if st.fileType == S_IFLNK {
            let target = Sys.readlink(at: parentFD.raw, name).map { SyncPath.printable($0) } ?? "?"
            throw SyncError(.badRoot, "refusing to sync into \(checked): it is a symbolic link (to \(target)); a sync never follows a link at the destination itself, name the directory it points to")
        }
        guard st.fileType == S_IFDIR else { throw Sys.error("open", checked, errno: ENOTDIR) }
        guard let fd = OwnedFD.open(at: parentFD.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else {
            throw Sys.error("open", checked)
        }
        var opened = stat()
        guard fstat(fd.raw, &opened) == 0 else { throw Sys.error("stat", checked) }
        let identity = Identity(opened)
        let real = path(of: fd.raw) ?? realPath(checked) ?? checked
        let resolved = ResolvedRoot(requested: checked, path: real, fd: fd, identity: identity, created: created)
        if real == "/" || identity == self.identity(of: "/") {
            throw SyncError(.badRoot, "refusing to sync into \(resolved.display): it is /; name a directory of its own")
        }
        if let home, home.hasPrefix("/"), identity == self.identity(of: home) {
            throw SyncError(.badRoot, "refusing to sync into \(resolved.display): it is the home directory \(home); name a directory inside it")
        }
        return resolved
    }

    /// `mkdir -p` (mode 0755), following links in existing components.
    static func createDirectories(_ path: String) throws(SyncError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.fileType == S_IFDIR else { throw Sys.error("open", path, errno: ENOTDIR) }
            return
        }
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw Sys.error("mkdir", prefix) }
        }
    }

    /// O_PATH (Glibc's module hides it behind _GNU_SOURCE); the same on x86-64 and arm64.
    static let oPath: Int32 = 0o10000000

    static func identity(of path: String) -> Identity? {
        var st = stat()
        return stat(path, &st) == 0 ? Identity(st) : nil
    }

    /// The path the kernel has for an open directory.
    static func path(of fd: Int32) -> String? {
        guard let link = Sys.readlink(at: AT_FDCWD, Array("/proc/self/fd/\(fd)".utf8)), link.first == UInt8(ascii: "/") else { return nil }
        let text = String(decoding: link, as: UTF8.self)
        return text.hasSuffix(" (deleted)") ? nil : text
    }

    static func trimmed(_ path: String) -> String {
        var s = Substring(path)
        while s.count > 1 && s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
