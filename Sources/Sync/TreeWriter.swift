import Glibc

/// Applies `SyncAction`s below a root directory. Every path is opened one
/// component at a time with `O_NOFOLLOW`, so a symlink in the destination can
/// never redirect a write outside the root; files and links are created under
/// a temporary name and renamed, so each is either the old or the new version
/// whatever fails (disk full, a lost connection). Temporary files live in the
/// sync's private directory (`.automation-sync/tmp-…`) when there is one on
/// the same file system, else beside their file under an unguessable name.
public final class TreeWriter {
    public let rootPath: String
    let root: OwnedFD
    /// The mount the root is on: nothing behind another mount below it is
    /// ever entered, deleted or changed (docs/sync.md, "Safety").
    let rootMount: UInt64?
    /// Where temporary files go; nil: beside their file.
    private let privateDir: OwnedFD?
    private let privateDevice: UInt64?
    /// Hashes of what was written, so that the next scan need not read it back.
    public var cache: ScanCache
    private var parentCache: (path: SyncPath, fd: OwnedFD)?
    private var uploads: [UInt64: Upload] = [:]
    /// Files written completely in this sync: an unfinished upload of one of
    /// them is a stale attempt the controller restarted, not a missing file.
    private var completed: Set<SyncPath> = []

    struct Upload {
        var path: SyncPath
        var tempDir: OwnedFD
        var tempName: [UInt8]
        var totalSize: UInt64
        var received: UInt64
        var digest: Digest?
        var fd: OwnedFD
    }

    public convenience init(root: String, cache: ScanCache) throws(SyncError) {
        guard let fd = OwnedFD.open(at: AT_FDCWD, Array(root.utf8), O_RDONLY | O_DIRECTORY) else {
            throw Sys.error("open", root)
        }
        self.init(root: fd, path: root, privateDir: nil, cache: cache)
    }

    init(root: OwnedFD, path: String, privateDir: OwnedFD?, cache: ScanCache) {
        rootPath = path
        self.root = root
        rootMount = Sys.mount(at: root.raw, [])
        self.privateDir = privateDir
        var st = stat()
        privateDevice = privateDir.flatMap { fstat($0.raw, &st) == 0 ? UInt64(st.st_dev) : nil }
        self.cache = cache
    }

    /// Applies `actions` in order and stops at the first failure, which names its path.
    public func apply(_ actions: [SyncAction]) throws(SyncError) {
        for action in actions {
            try apply(action)
        }
    }

    /// Files begun as large-file uploads and not written completely in this sync.
    public var unfinishedFiles: [SyncPath] {
        Set(uploads.values.map(\.path)).subtracting(completed).sorted()
    }

    /// Drops unfinished large-file uploads and their temporary files.
    public func abandonUploads() {
        for (_, upload) in uploads { unlinkTemp(upload.tempDir.raw, upload.tempName) }
        uploads = [:]
    }

    private func display(_ path: SyncPath) -> String { rootPath + "/" + path.description }

    public func apply(_ action: SyncAction) throws(SyncError) {
        let path = action.path
        if let first = path.components.first, Array(first) == SyncRoot.markerName {
            throw SyncError(.unsafePath, "\(display(path)): \(SyncPath.printable(SyncRoot.markerName)) at the top of the destination is the sync's marker, never synced")
        }
        let dir = try openParent(path)
        let name = Array(path.name)
        switch action {
        case .delete:
            parentCache = nil  // the deleted entry may be a cached parent
            try removeEntry(dir.raw, name, display(path))
            cache.forgetTree(path)
        case .mkdir(_, let mode):
            let rc = withCPath(name) { mkdirat(dir.raw, $0, mode_t(mode)) }
            if rc != 0 {
                guard errno == EEXIST, let st = Sys.lstat(at: dir.raw, name), st.fileType == S_IFDIR else {
                    throw Sys.error("mkdir", display(path))
                }
            }
            try chmod(dir.raw, name, mode, path)
        case .file(_, let mode, let data):
            let (tempDir, temp, fd) = try createTemp(beside: dir, path)
            let digest = data.withUnsafeBytes { SHA256Hasher.digest($0) }
            guard data.withUnsafeBytes({ FileIO.writeAll(fd.raw, $0) }) else {
                let failure = Sys.error("write", display(path))
                unlinkTemp(tempDir.raw, temp)
                throw failure
            }
            try finish(fd, tempDir, temp, dir, path, mode: mode, digest: digest)
            dropStaleUploads(of: path)
        case .chunk(let c):
            try applyChunk(c, dir)
        case .symlink(_, let target):
            // Beside the link's place: a link is recreated, never copied across file systems.
            let temp = tempName()
            let rc = withCPath(target) { t in withCPath(temp) { symlinkat(t, dir.raw, $0) } }
            guard rc == 0 else { throw Sys.error("symlink", display(path)) }
            try renameIntoPlace(dir, temp, dir, path)
            cache.forget(path)
        case .chmod(_, let mode):
            try chmod(dir.raw, name, mode, path)
        }
    }

    /// Pieces may come in any order (the controller pipelines its requests):
    /// each is written at its offset, and the file is checked against the
    /// digest and renamed once every byte has arrived.
    private func applyChunk(_ c: SyncAction.Chunk, _ dir: OwnedFD) throws(SyncError) {
        guard c.offset <= c.totalSize, UInt64(c.data.count) <= c.totalSize - c.offset else {
            throw SyncError(.badData, "\(display(c.path)): piece at \(c.offset)+\(c.data.count) lies beyond the file's \(c.totalSize) bytes")
        }
        if uploads[c.upload] == nil {
            // A late piece of an attempt the controller restarted, after the file was written whole.
            if completed.contains(c.path) { return }
            let (tempDir, temp, fd) = try createTemp(beside: dir, c.path, flags: O_RDWR)
            uploads[c.upload] = Upload(path: c.path, tempDir: tempDir, tempName: temp, totalSize: c.totalSize, received: 0, digest: nil, fd: fd)
        }
        guard var upload = uploads[c.upload], upload.path == c.path, upload.totalSize == c.totalSize,
              upload.received + UInt64(c.data.count) <= c.totalSize else {
            throw SyncError(.badData, "\(display(c.path)): piece at offset \(c.offset) does not belong to upload \(c.upload)")
        }
        var written = 0
        while written < c.data.count {
            let n = c.data.withUnsafeBytes { raw in
                Sys.retry { pwrite(upload.fd.raw, raw.baseAddress! + written, raw.count - written, off_t(c.offset) + off_t(written)) }
            }
            guard n > 0 else {
                let failure = Sys.error("write", display(c.path))
                uploads[c.upload] = nil
                unlinkTemp(upload.tempDir.raw, upload.tempName)
                throw failure
            }
            written += n
        }
        upload.received += UInt64(c.data.count)
        if let d = c.finalDigest { upload.digest = d }
        guard upload.received == upload.totalSize, let expected = upload.digest else {
            uploads[c.upload] = upload
            return
        }
        uploads[c.upload] = nil
        guard lseek(upload.fd.raw, 0, SEEK_SET) == 0 else { throw Sys.error("seek", display(c.path)) }
        let (digest, size) = try TreeScanner.hashContents(upload.fd.raw, display(c.path))
        guard size == upload.totalSize, digest == expected else {
            unlinkTemp(upload.tempDir.raw, upload.tempName)
            throw SyncError(.digestMismatch, "\(display(c.path)): received \(size) of \(upload.totalSize) bytes with digest \(digest.hex), expected \(expected.hex)")
        }
        try finish(upload.fd, upload.tempDir, upload.tempName, dir, c.path, mode: c.mode, digest: digest)
        dropStaleUploads(of: c.path)
    }

    /// `path` is written whole: earlier attempts at it (restarted by the controller) are dropped.
    private func dropStaleUploads(of path: SyncPath) {
        completed.insert(path)
        for (id, upload) in uploads where upload.path == path {
            unlinkTemp(upload.tempDir.raw, upload.tempName)
            uploads[id] = nil
        }
    }

    /// A new temporary file for `path`: in the private directory when it is on
    /// the same file system as `dir`, else in `dir`.
    private func createTemp(beside dir: OwnedFD, _ path: SyncPath, flags: Int32 = O_WRONLY) throws(SyncError) -> (OwnedFD, [UInt8], OwnedFD) {
        var place = dir
        if let privateDir, let privateDevice {
            var st = stat()
            if fstat(dir.raw, &st) == 0 && UInt64(st.st_dev) == privateDevice { place = privateDir }
        }
        let temp = tempName()
        guard let fd = OwnedFD.open(at: place.raw, temp, flags | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600) else {
            throw Sys.error("create", display(path))
        }
        return (place, temp, fd)
    }

    /// Mode, rename into place, and the cache entry for the new content.
    private func finish(_ fd: OwnedFD, _ tempDir: OwnedFD, _ temp: [UInt8], _ dir: OwnedFD, _ path: SyncPath, mode: UInt32, digest: Digest) throws(SyncError) {
        var st = stat()
        guard fchmod(fd.raw, mode_t(mode)) == 0, fstat(fd.raw, &st) == 0 else {
            let failure = Sys.error("chmod", display(path))
            unlinkTemp(tempDir.raw, temp)
            throw failure
        }
        let code = withCPath(temp) { t in withCPath(Array(path.name)) { renameat(tempDir.raw, t, dir.raw, $0) == 0 ? 0 : errno } }
        if code == EXDEV && tempDir !== dir {
            // Another mount below the root (same device, as a bind mount): copy beside, then rename.
            let copy = try copyBeside(fd, dir, path, mode: mode)
            unlinkTemp(tempDir.raw, temp)
            guard fstat(copy.file.raw, &st) == 0 else { throw Sys.error("stat", display(path)) }
            try renameIntoPlace(copy.dir, copy.name, dir, path)
        } else if code != 0 {
            let failure = Sys.error("rename", display(path), errno: code)
            unlinkTemp(tempDir.raw, temp)
            throw failure
        }
        cache.record(path, key: ScanCache.Key(st), digest: digest)
    }

    /// A copy of the file open at `fd` beside its place in `dir`, for a rename
    /// the private directory cannot do (another mount below the root).
    private func copyBeside(_ fd: OwnedFD, _ dir: OwnedFD, _ path: SyncPath, mode: UInt32) throws(SyncError) -> (dir: OwnedFD, name: [UInt8], file: OwnedFD) {
        let temp = tempName()
        guard let out = OwnedFD.open(at: dir.raw, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600) else {
            throw Sys.error("create", display(path))
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while true {
            let n = Sys.retry { pread(fd.raw, buffer.baseAddress!, buffer.count, offset) }
            if n == 0 { break }
            guard n > 0, FileIO.writeAll(out.raw, UnsafeRawBufferPointer(rebasing: buffer[0..<n])) else {
                let failure = Sys.error("write", display(path))
                unlinkTemp(dir.raw, temp)
                throw failure
            }
            offset += off_t(n)
        }
        guard fchmod(out.raw, mode_t(mode)) == 0 else {
            let failure = Sys.error("chmod", display(path))
            unlinkTemp(dir.raw, temp)
            throw failure
        }
        return (dir, temp, out)
    }

    private func renameIntoPlace(_ tempDir: OwnedFD, _ temp: [UInt8], _ dir: OwnedFD, _ path: SyncPath) throws(SyncError) {
        let rc = withCPath(temp) { t in withCPath(Array(path.name)) { renameat(tempDir.raw, t, dir.raw, $0) } }
        guard rc == 0 else {
            let failure = Sys.error("rename", display(path))
            unlinkTemp(tempDir.raw, temp)
            throw failure
        }
    }

    private func unlinkTemp(_ dir: Int32, _ temp: [UInt8]) {
        _ = withCPath(temp) { unlinkat(dir, $0, 0) }
    }

    /// Never follows a symlink, even one swapped in meanwhile: chmod of a link
    /// or of a mount point is refused.
    private func chmod(_ dir: Int32, _ name: [UInt8], _ mode: UInt32, _ path: SyncPath) throws(SyncError) {
        try Sys.chmodNoFollow(at: dir, name, mode, mount: rootMount, display(path))
    }

    /// 128 random bits: no user file has this name, and creating it is O_EXCL.
    func tempName() -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var name = Array(".automation-sync-".utf8)
        for _ in 0..<32 { name.append(digits[Int(rng.next() % 16)]) }
        return name
    }

    /// The directory holding `path`, opened component by component without following links.
    func openParent(_ path: SyncPath) throws(SyncError) -> OwnedFD {
        guard let parent = path.parent else { return root }
        if let cached = parentCache, cached.path == parent { return cached.fd }
        var fd = root
        var walked: [UInt8] = []
        for component in parent.components {
            let name = Array(component)
            walked += walked.isEmpty ? name : [UInt8(ascii: "/")] + name
            guard let next = OwnedFD.open(at: fd.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else {
                let code = errno
                if code == ELOOP || code == ENOTDIR {
                    throw SyncError(.unsafePath, "\(rootPath)/\(SyncPath.printable(walked)) is not a directory (a symlink is never followed)", errno: code)
                }
                throw Sys.error("open", "\(rootPath)/\(SyncPath.printable(walked))", errno: code)
            }
            guard Sys.mount(at: next.raw, []) == rootMount else {
                throw SyncError.mountPoint("\(rootPath)/\(SyncPath.printable(walked))")
            }
            fd = next
        }
        parentCache = (parent, fd)
        return fd
    }

    /// Removes a file, link or directory tree below `dir`, never following links
    /// and opening read-only directories as needed; a missing entry is fine.
    /// Refused (`unsafe_path`) at a mount point: nothing on another mount than
    /// the root's is deleted or changed (a bind mount of a data set, of $HOME).
    func removeEntry(_ dir: Int32, _ name: [UInt8], _ display: String) throws(SyncError) {
        guard let st = Sys.lstat(at: dir, name) else {
            if errno == ENOENT { return }
            throw Sys.error("remove", display)
        }
        if st.fileType == S_IFDIR || (st.fileType != S_IFLNK && Sys.isMountID(rootMount)) {
            guard let mount = Sys.mount(at: dir, name) else {
                if errno == ENOENT { return }
                throw Sys.error("remove", display)
            }
            guard mount == rootMount else { throw SyncError.mountPoint(display) }
        }
        if st.fileType == S_IFDIR {
            // Checked again through the descriptor the mode is set by: never a link, never another mount.
            if st.st_mode & 0o700 != 0o700 { try Sys.chmodNoFollow(at: dir, name, UInt32(st.st_mode & 0o7777) | 0o700, mount: rootMount, display) }
            guard let sub = OwnedFD.open(at: dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else { throw Sys.error("remove", display) }
            guard Sys.mount(at: sub.raw, []) == rootMount else { throw SyncError.mountPoint(display) }
            for child in try Sys.names(sub.raw, display) {
                try removeEntry(sub.raw, child, display + "/" + SyncPath.printable(child))
            }
            guard withCPath(name, { unlinkat(dir, $0, AT_REMOVEDIR) }) == 0 || errno == ENOENT else { throw Sys.error("remove", display) }
        } else {
            guard withCPath(name, { unlinkat(dir, $0, 0) }) == 0 || errno == ENOENT else { throw Sys.error("remove", display) }
        }
    }
}
