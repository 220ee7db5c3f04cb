import Glibc

/// Reads the files of a source tree by relative path (any bytes), noticing a
/// file that changes while it is read.
public final class SourceReader: @unchecked Sendable {
    public let rootPath: String
    let root: OwnedFD

    public init(root: String) throws(SyncError) {
        guard let fd = OwnedFD.open(at: AT_FDCWD, Array(root.utf8), O_RDONLY | O_DIRECTORY) else { throw Sys.error("open", root) }
        rootPath = root
        self.root = fd
    }

    /// An open source file and the stat it was opened with.
    public final class OpenFile: @unchecked Sendable {
        let fd: OwnedFD
        let display: String
        let key: ScanCache.Key
        public var size: UInt64 { key.size }
        /// The file's mode bits at open.
        public let mode: UInt32

        init(fd: OwnedFD, display: String, st: stat) {
            self.fd = fd
            self.display = display
            key = ScanCache.Key(st)
            mode = UInt32(st.st_mode & 0o7777)
        }

        /// Up to `count` bytes at `offset`; fewer only at the end of the file.
        public func read(at offset: UInt64, count: Int) throws(SyncError) -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let n = buffer.withUnsafeMutableBytes { raw in
                    Sys.retry { pread(fd.raw, raw.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled)) }
                }
                if n < 0 { throw Sys.error("read", display) }
                if n == 0 { break }
                filled += n
            }
            buffer.removeLast(count - filled)
            return buffer
        }

        /// True when the file's stat still matches the one at open: what was read is one version.
        public func unchanged() -> Bool {
            var st = stat()
            return fstat(fd.raw, &st) == 0 && ScanCache.Key(st) == key
        }
    }

    /// Opens a regular file without following a symlink in its last component.
    public func open(_ path: SyncPath) throws(SyncError) -> OpenFile {
        let display = rootPath + "/" + path.description
        // O_NONBLOCK: a FIFO swapped in since the scan must fail below, not block the open.
        guard let fd = OwnedFD.open(at: root.raw, path.bytes, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY) else { throw Sys.error("open", display) }
        var st = stat()
        guard fstat(fd.raw, &st) == 0 else { throw Sys.error("stat", display) }
        guard st.fileType == S_IFREG else { throw SyncError(.changing, "\(display) is no longer a regular file; sync again") }
        return OpenFile(fd: fd, display: display, st: st)
    }

    /// A whole small file, read as one version (retried while it changes).
    public func readWhole(_ path: SyncPath, limit: Int) throws(SyncError) -> (data: [UInt8], mode: UInt32) {
        for _ in 0..<3 {
            let file = try open(path)
            guard file.size <= UInt64(limit) else { throw SyncError(.changing, "\(file.display) grew to \(file.size) bytes while syncing; sync again") }
            let data = try file.read(at: 0, count: Int(file.size) + 1)
            if data.count == Int(file.size) && file.unchanged() { return (data, file.mode) }
        }
        throw SyncError(.changing, "\(rootPath)/\(path) kept changing while it was read (3 tries); sync again when it is quiet")
    }
}
