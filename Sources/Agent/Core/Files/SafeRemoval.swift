import AgentProtocol
import CAgentSupport
import Descriptors
import Glibc

/// `fs.remove`, resolved by the kernel rather than by comparing strings.
///
/// The last component is opened relative to its parent directory and never
/// followed; the directory it names is refused when it is the root (of the
/// agent's view, so a chroot's root too) or the agent user's home itself,
/// compared by device and inode. A recursive removal descends with
/// `openat(O_NOFOLLOW)` and `unlinkat`, and stops with an error at any
/// directory on another mount (a different mount id, or device where the
/// kernel has no mount ids), so a bind or tmpfs mount inside the tree is
/// never emptied.
enum SafeRemoval {
    /// A directory identity: device and inode.
    struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64

        init(_ st: Glibc.stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }

        init?(path: String) {
            var st = Glibc.stat()
            guard fstatat(AT_FDCWD, path, &st, 0) == 0 else { return nil }
            self.init(st)
        }
    }

    /// Directories that are never removed, even when empty: `/` and `$HOME`.
    static func protectedDirectories() -> [(Identity, String)] {
        var result: [(Identity, String)] = []
        if let root = Identity(path: "/") { result.append((root, "/")) }
        if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/"), let id = Identity(path: home) {
            result.append((id, "the agent user's home (\(home))"))
        }
        return result
    }

    static func remove(_ path: String, recursive: Bool, missingOK: Bool) throws(ProtocolError) {
        let (parentPath, name) = split(path)
        guard let name else {
            throw ProtocolError(.invalidField, "params.path: refusing to remove / ('\(path)')")
        }
        let parent: FileDescriptor
        do {
            parent = try FileDescriptor.open(parentPath, O_RDONLY | O_DIRECTORY)
        } catch {
            if error.code == ENOENT && missingOK { return }
            throw Sys.error("remove", path, errno: error.code)
        }
        try removeEntry(name, in: parent, path: path, recursive: recursive, missingOK: missingOK)
    }

    private static func removeEntry(_ name: String, in parent: borrowing FileDescriptor, path: String,
                                    recursive: Bool, missingOK: Bool) throws(ProtocolError) {
        var st = Glibc.stat()
        guard fstatat(parent.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT && missingOK { return }
            throw Sys.error("remove", path)
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            guard unlinkat(parent.rawValue, name, 0) == 0 else { throw Sys.error("remove", path) }
            return
        }
        let identity = Identity(st)
        for (protected, what) in protectedDirectories() where protected == identity {
            throw ProtocolError(.permissionDenied, "remove \(path): refusing to remove \(what)")
        }
        if recursive {
            let dir = try openDirectory(parent, name, path)
            try removeContents(dir, path, mount: mountID(dir.rawValue, "", st))
        }
        guard unlinkat(parent.rawValue, name, AT_REMOVEDIR) == 0 else { throw Sys.error("remove", path) }
    }

    /// Opens a directory entry without following a symbolic link.
    private static func openDirectory(_ parent: borrowing FileDescriptor, _ name: String, _ path: String) throws(ProtocolError) -> FileDescriptor {
        do {
            return try parent.openAt(name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        } catch {
            throw Sys.error("remove", path, errno: error.code)
        }
    }

    /// The parent directory and the last component; nil name for `/`, `//`…
    /// (`.` and `..` components are refused earlier, by request validation).
    static func split(_ path: String) -> (String, String?) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let last = parts.last else { return ("/", nil) }
        return ("/" + parts.dropLast().joined(separator: "/"), String(last))
    }

    /// Which mount `name` (under `dirfd`) is on: its mount id, or its device.
    private static func mountID(_ dirfd: Int32, _ name: String, _ st: Glibc.stat) -> UInt64 {
        var id: UInt64 = 0
        if cagent_mount_id(dirfd, name, &id) == 0 { return id }
        return UInt64(st.st_dev) | 1 << 63
    }

    /// Empties the directory open at `fd` (which the caller closes).
    private static func removeContents(_ dir: borrowing FileDescriptor, _ path: String, mount: UInt64) throws(ProtocolError) {
        let fd = dir.rawValue
        for name in try entries(fd, path) {
            let child = "\(path)/\(name)"
            var st = Glibc.stat()
            guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                if errno == ENOENT { continue }
                throw Sys.error("remove", child)
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                guard unlinkat(fd, name, 0) == 0 || errno == ENOENT else { throw Sys.error("remove", child) }
                continue
            }
            guard mountID(fd, name, st) == mount else {
                throw ProtocolError(.permissionDenied,
                    "remove \(child): another filesystem is mounted there; not crossing into it (unmount it first)")
            }
            let sub = try openDirectory(dir, name, child)
            try removeContents(sub, child, mount: mount)
            guard unlinkat(fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT else { throw Sys.error("remove", child) }
        }
    }

    /// The names in the directory open at `fd`, without `.` and `..`.
    private static func entries(_ fd: Int32, _ path: String) throws(ProtocolError) -> [String] {
        // fdopendir takes the descriptor it is given; give it a duplicate.
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw Sys.error("remove", path) }
        guard let dir = fdopendir(copy) else {
            close(copy)
            throw Sys.error("remove", path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
