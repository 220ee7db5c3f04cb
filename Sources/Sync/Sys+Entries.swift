import CSyncSupport
import Glibc

/// Mount boundaries and mode changes that never follow a link (docs/sync.md, "Safety").
extension Sys {
    /// AT_EMPTY_PATH (Glibc's module hides it behind _GNU_SOURCE).
    static let atEmptyPath: Int32 = 0x1000

    /// Which mount `name` in `dir` (or `dir` itself for an empty name) is on,
    /// without following a link: its mount id, or its device where the kernel
    /// has no mount ids (before Linux 5.8; a bind mount of the same file system
    /// is then not told apart). Nil when it cannot be examined (gone).
    static func mount(at dir: Int32, _ name: [UInt8]) -> UInt64? {
        var id: UInt64 = 0
        let rc = withCPath(name) { p in withUnsafeMutablePointer(to: &id) { csync_mount_id(dir, p, UnsafeMutablePointer<UInt64>(OpaquePointer($0))) } }
        if rc == 0 { return id }
        var st = stat()
        let flags = AT_SYMLINK_NOFOLLOW | (name.isEmpty ? atEmptyPath : 0)
        guard withCPath(name, { fstatat(dir, $0, &st, flags) }) == 0 else { return nil }
        return UInt64(st.st_dev) | 1 << 63
    }

    /// True when `mount` is a mount id (not the device fallback). Only then are
    /// files compared too: on overlayfs before Linux 4.19 a file's device is
    /// its lower layer's, while directories report the overlay's.
    static func isMountID(_ mount: UInt64?) -> Bool {
        mount.map { $0 & (1 << 63) == 0 } ?? false
    }

    /// Sets the mode of the file or directory `name` in `dir` without ever
    /// following a link, whatever replaces the entry meanwhile: it is opened
    /// `O_PATH | O_NOFOLLOW`, checked through that descriptor (a file or a
    /// directory, on `mount`), and changed through `/proc/self/fd` (as glibc's
    /// `fchmodat(AT_SYMLINK_NOFOLLOW)` does, which kernels before 6.6 lack).
    /// Without /proc it opens the entry for reading (`O_NOFOLLOW | O_NONBLOCK`)
    /// and `fchmod`s that descriptor once it is the same inode.
    /// Returns the entry's stat before the change.
    @discardableResult
    static func chmodNoFollow(at dir: Int32, _ name: [UInt8], _ mode: UInt32, mount: UInt64?, _ shown: String) throws(SyncError) -> stat {
        guard let handle = OwnedFD.open(at: dir, name, SyncRoot.oPath | O_NOFOLLOW) else { throw error("chmod", shown) }
        var st = stat()
        guard withCPath([], { fstatat(handle.raw, $0, &st, atEmptyPath) }) == 0 else { throw error("chmod", shown) }
        guard st.fileType == S_IFREG || st.fileType == S_IFDIR else {
            let what = st.fileType == S_IFLNK ? "is a symbolic link (never followed)" : "is not a file or directory"
            throw SyncError(.unsafePath, "chmod \(shown): \(what)")
        }
        if let mount, st.fileType == S_IFDIR || isMountID(mount), self.mount(at: handle.raw, []) != mount {
            throw SyncError.mountPoint(shown)
        }
        guard UInt32(st.st_mode & 0o7777) != mode else { return st }
        if Glibc.chmod("/proc/self/fd/\(handle.raw)", mode_t(mode)) == 0 { return st }
        let code = errno
        guard code == ENOENT || code == ENOTDIR else { throw error("chmod", shown, errno: code) }
        let flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | (st.fileType == S_IFDIR ? O_DIRECTORY : 0)
        guard let fd = OwnedFD.open(at: dir, name, flags) else { throw error("chmod", shown) }
        var now = stat()
        guard fstat(fd.raw, &now) == 0, now.st_dev == st.st_dev, now.st_ino == st.st_ino else {
            throw SyncError(.changing, "chmod \(shown): replaced while its mode was being set; sync again")
        }
        guard fchmod(fd.raw, mode_t(mode)) == 0 else { throw error("chmod", shown) }
        return st
    }
}

extension SyncError {
    /// A mount point below the destination's root (docs/sync.md, "Safety").
    static func mountPoint(_ shown: String) -> SyncError {
        SyncError(.unsafePath, "\(shown) is a mount point inside the destination (another file system or a bind mount): a sync never deletes, changes or writes behind a mount; unmount it, or sync to a directory that holds none")
    }
}
