import Glibc

/// Owns one open file descriptor and closes it exactly once.
final class OwnedFD {
    let raw: Int32

    init(_ raw: Int32) { self.raw = raw }

    deinit { Glibc.close(raw) }

    /// Opens `name` relative to `dir` (or the working directory); nil with errno set on failure.
    static func open(at dir: Int32, _ name: [UInt8], _ flags: Int32, mode: mode_t = 0) -> OwnedFD? {
        let fd = withCPath(name) { p in Sys.retry { openat(dir, p, flags | O_CLOEXEC, mode) } }
        return fd >= 0 ? OwnedFD(fd) : nil
    }
}

/// Calls `body` with `bytes` as a NUL-terminated C string.
func withCPath<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
    var z = bytes
    z.append(0)
    return z.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
}

/// The one place that retries EINTR and turns errno into `SyncError`.
enum Sys {
    @inline(__always)
    static func retry<T: SignedInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    static func error(_ operation: String, _ path: String, errno code: Int32 = errno) -> SyncError {
        SyncError(.system, "\(operation) \(path): \(String(cString: strerror(code)))", errno: code)
    }

    static func lstat(at dir: Int32, _ name: [UInt8]) -> stat? {
        var st = stat()
        let rc = withCPath(name) { fstatat(dir, $0, &st, AT_SYMLINK_NOFOLLOW) }
        return rc == 0 ? st : nil
    }

    static func readlink(at dir: Int32, _ name: [UInt8]) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4097)
        let n = withCPath(name) { p in buffer.withUnsafeMutableBufferPointer { readlinkat(dir, p, UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), 4096) } }
        guard n > 0, n <= 4095 else { return nil }
        return Array(buffer[0..<n])
    }

    /// Names in the directory open at `fd`, without `.` and `..`.
    static func names(_ fd: Int32, _ path: String) throws(SyncError) -> [[UInt8]] {
        // Close-on-exec from the start: another thread may spawn a process meanwhile.
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0, let dir = fdopendir(copy) else {
            if copy >= 0 { Glibc.close(copy) }
            throw error("opendir", path)
        }
        defer { closedir(dir) }
        // The copy shares its position with `fd`: start from the top whatever read it before.
        rewinddir(dir)
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            names.append(name)
        }
        return names
    }

    static func wallClockNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

extension stat {
    var mtimeNs: Int64 { Int64(st_mtim.tv_sec) * 1_000_000_000 + Int64(st_mtim.tv_nsec) }
    var fileType: mode_t { st_mode & S_IFMT }
}
