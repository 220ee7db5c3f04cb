import AgentProtocol
import FoundationEssentials
import Glibc

/// The fs.* operations, run on a session's file worker queue.
enum FileOperations {
    static func perform(_ body: RequestBody, syncs: SyncTable = SyncTable()) -> Result<ReplyBody, ProtocolError> {
        do {
            switch body {
            case .stat(let p): return .success(.stat(try statPath(p.path, follow: p.noFollow != true, name: p.path)))
            case .mkdir(let p):
                try mkdirs(p.path, mode: mode_t(p.mode ?? 0o755))
                return .success(.done(.mkdir))
            case .write(let p):
                try writeAtomically(p.path, [UInt8](p.data), mode: mode_t(p.mode ?? 0o644))
                return .success(.done(.write))
            case .read(let p): return .success(.read(try read(p)))
            case .remove(let p):
                try SafeRemoval.remove(p.path, recursive: p.recursive == true, missingOK: p.missingOK == true)
                return .success(.done(.remove))
            case .chmod(let p):
                guard Glibc.chmod(p.path, mode_t(p.mode)) == 0 else { throw Sys.error("chmod", p.path) }
                return .success(.done(.chmod))
            case .chown(let p):
                let uid = p.uid.map { uid_t($0) } ?? uid_t.max
                let gid = p.gid.map { gid_t($0) } ?? gid_t.max
                let rc = p.noFollow == true ? lchown(p.path, uid, gid) : Glibc.chown(p.path, uid, gid)
                guard rc == 0 else { throw Sys.error("chown", p.path) }
                return .success(.done(.chown))
            case .symlink(let p):
                guard Glibc.symlink(p.target, p.path) == 0 else { throw Sys.error("symlink", p.path) }
                return .success(.done(.symlink))
            case .list(let p): return .success(.list(try list(p.path)))
            case .syncScan(let p): return SyncOperations.scan(p, syncs: syncs)
            case .syncApply(let p): return SyncOperations.apply(p, syncs: syncs)
            case .ping, .exec, .cancel, .shutdown, .stdin, .configure:
                return .failure(ProtocolError(.internalError, "\(body.operation.rawValue) is not a file operation"))
            }
        } catch let error as ProtocolError {
            return .failure(error)
        } catch {
            return .failure(ProtocolError(.internalError, "\(error)"))
        }
    }

    static func statPath(_ path: String, follow: Bool, name: String) throws(ProtocolError) -> FileInfo {
        var st = Glibc.stat()
        let rc = follow ? fstatat(AT_FDCWD, path, &st, 0) : lstat(path, &st)
        guard rc == 0 else { throw Sys.error("stat", path) }
        return info(st, name: name, path: path)
    }

    static func info(_ st: Glibc.stat, name: String, path: String) -> FileInfo {
        let kind: FileInfo.Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        case S_IFCHR: kind = .charDevice
        case S_IFBLK: kind = .blockDevice
        default: kind = .unknown
        }
        return FileInfo(
            name: name, kind: kind, size: Int64(st.st_size), mode: UInt32(st.st_mode & 0o7777),
            uid: st.st_uid, gid: st.st_gid,
            mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            target: kind == .symlink ? readlink(path) : nil
        )
    }

    static func readlink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = Glibc.readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `mkdir -p`: an existing directory is success, an existing non-directory is not.
    static func mkdirs(_ path: String, mode: mode_t) throws(ProtocolError) {
        if Glibc.mkdir(path, mode) == 0 { return }
        let code = errno
        if code == EEXIST {
            var st = Glibc.stat()
            if fstatat(AT_FDCWD, path, &st, 0) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return }
            throw Sys.error("mkdir", path, errno: ENOTDIR)
        }
        guard code == ENOENT else { throw Sys.error("mkdir", path, errno: code) }
        let parent = parentDirectory(path)
        guard parent != path else { throw Sys.error("mkdir", path, errno: code) }
        try mkdirs(parent, mode: mode)
        if Glibc.mkdir(path, mode) != 0 && errno != EEXIST { throw Sys.error("mkdir", path) }
    }

    static func parentDirectory(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// Temp file in the same directory, fsync, rename, fsync the directory.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(ProtocolError) {
        let dir = parentDirectory(path)
        let temp = "\(dir)/.\(path.split(separator: "/").last ?? "file").tmp-\(randomHex(bytes: 6))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Sys.error("write", path) }
        var failure: ProtocolError?
        if !bytes.withUnsafeBytes({ Sys.writeAll(fd, $0) }) {
            failure = Sys.error("write", path)
        } else if fchmod(fd, mode) != 0 {
            failure = Sys.error("chmod", path)
        } else if fsync(fd) != 0 {
            failure = Sys.error("fsync", path)
        }
        close(fd)
        if failure == nil && rename(temp, path) != 0 { failure = Sys.error("rename", path) }
        if let failure {
            unlink(temp)
            throw failure
        }
        let dirFD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    static func read(_ p: ReadParams) throws(ProtocolError) -> ReadResult {
        let fd = open(p.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Sys.error("read", p.path) }
        defer { close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else { throw Sys.error("stat", p.path) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw Sys.error("read", p.path, errno: EISDIR) }
        let length = min(p.length ?? ProtocolConstants.maxChunkSize, ProtocolConstants.maxChunkSize)
        var buffer = [UInt8](repeating: 0, count: length)
        var filled = 0
        let offset = p.offset ?? 0
        while filled < length {
            let n = buffer.withUnsafeMutableBytes { raw in
                Sys.retrying { pread(fd, raw.baseAddress! + filled, length - filled, off_t(offset) + off_t(filled)) }
            }
            if n < 0 { throw Sys.error("read", p.path) }
            if n == 0 { break }
            filled += n
        }
        return ReadResult(data: Data(buffer[0..<filled]), size: Int64(st.st_size))
    }

    static func list(_ path: String) throws(ProtocolError) -> ListResult {
        guard let dir = opendir(path) else { throw Sys.error("list", path) }
        defer { closedir(dir) }
        var entries: [FileInfo] = []
        let fd = dirfd(dir)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            var st = Glibc.stat()
            guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            entries.append(info(st, name: name, path: path == "/" ? "/\(name)" : "\(path)/\(name)"))
        }
        entries.sort { $0.name < $1.name }
        return ListResult(entries: entries)
    }
}
