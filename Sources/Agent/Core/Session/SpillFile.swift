import Glibc

/// The on-disk part of a resumable session's unacknowledged output: lines
/// beyond the in-memory bound are appended here and read back when they are
/// resent. The file lives in a directory only the agent's user can enter
/// and is removed when the session ends.
final class SpillFile {
    struct Failure: Error {
        var message: String
    }

    let path: String
    private var fd: Int32
    /// Bytes written since the file was last emptied.
    private(set) var size: Int64 = 0

    /// Creates `spill-<session>` in `directory` (made 0700 if missing; refused
    /// when it is not a directory of this user that nobody else can enter).
    init(directory: String, session: String) throws(Failure) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw Failure(message: "mkdir \(directory): \(Sys.errorString(errno))")
        }
        var info = stat()
        guard lstat(directory, &info) == 0 else { throw Failure(message: "stat \(directory): \(Sys.errorString(errno))") }
        guard info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(), info.st_mode & 0o077 == 0 else {
            throw Failure(message: "\(directory) is not a private directory of this user (mode 0700)")
        }
        path = directory + "/spill-" + session
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw Failure(message: "create \(path): \(Sys.errorString(errno))") }
    }

    deinit {
        Sys.close(&fd)
        unlink(path)
    }

    /// Appends a line; returns where it starts.
    func append(_ bytes: [UInt8]) throws(Failure) -> Int64 {
        let at = size
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Sys.retrying { pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(at) + off_t(done)) }
            }
            guard n > 0 else { throw Failure(message: "write \(path): \(Sys.errorString(n < 0 ? errno : EIO))") }
            done += n
        }
        size += Int64(bytes.count)
        return at
    }

    /// Reads back `count` bytes written at `offset`.
    func read(at offset: Int64, count: Int) throws(Failure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { raw in
                Sys.retrying { pread(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done)) }
            }
            guard n > 0 else { throw Failure(message: "read \(path): \(Sys.errorString(n < 0 ? errno : EIO))") }
            done += n
        }
        return bytes
    }

    /// Forgets everything (nothing in the file is needed any more).
    func empty() {
        _ = ftruncate(fd, 0)
        size = 0
    }
}
