import CLibSSH2
import Descriptors
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension SFTPClient {
    /// Called on the I/O thread with (bytes done, total bytes).
    public typealias Progress = @Sendable (UInt64, UInt64) -> Void

    /// Uploads a local file to `remotePath` and sets its mode.
    ///
    /// Bytes go out in large writes (`chunkSize`, default 1 MiB) that libssh2
    /// splits into many SFTP requests in flight; the buffer is topped up as
    /// acknowledgements arrive, so the pipeline never drains mid-file.
    public func upload(from localPath: String, to remotePath: String, mode: Int = 0o644,
                       chunkSize: Int = 1 << 20, progress: Progress? = nil) async throws {
        let local = try Self.openLocal(localPath, O_RDONLY, verb: "read")
        let info: Glibc.stat
        do {
            info = try local.status()
        } catch {
            throw SSHError(.invalidArgument, "Cannot read \(localPath): \(String(cString: strerror(error.code))).")
        }
        // The transfer owns the local file from here: it is closed once, when the transfer goes.
        let transfer = UploadState(file: consume local, total: UInt64(info.st_size), chunkSize: chunkSize,
                                   remotePath: remotePath, mode: mode, progress: progress)
        let sftp = handle
        _ = try await loop.perform("uploading \(remotePath)") { loop -> Bool? in
            do {
                return try transfer.step(sftp: sftp, loop: loop, client: self) ? true : nil
            } catch {
                transfer.abandon(loop)
                throw error
            }
        }
    }

    private static func openLocal(_ path: String, _ flags: Int32, mode: mode_t = 0, verb: String) throws -> FileDescriptor {
        do {
            return try FileDescriptor.open(path, flags, mode: mode)
        } catch {
            throw SSHError(.invalidArgument, "Cannot \(verb) \(path): \(String(cString: strerror(error.code))).")
        }
    }

    /// Downloads `remotePath` into a local file (replaced atomically).
    public func download(from remotePath: String, to localPath: String,
                         chunkSize: Int = 1 << 20, progress: Progress? = nil) async throws {
        guard let info = try await stat(remotePath) else {
            throw SSHError(.sftpFailed, "\(loop.label): \(remotePath) does not exist.")
        }
        let temporary = localPath + ".part.\(getpid())"
        let local = try Self.openLocal(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: mode_t(info.permissions & 0o777), verb: "write")
        let transfer = DownloadState(file: consume local, total: info.size, chunkSize: chunkSize, remotePath: remotePath, progress: progress)
        let sftp = handle
        do {
            _ = try await loop.perform("downloading \(remotePath)") { loop -> Bool? in
                do {
                    return try transfer.step(sftp: sftp, loop: loop, client: self) ? true : nil
                } catch {
                    transfer.abandon(loop)
                    throw error
                }
            }
            // Closed exactly once, here, with its error checked (a deferred
            // write error surfaces at close); a failure path leaves it to the
            // transfer's owner, never to a second close.
            try transfer.closeLocal(localPath)
            guard Glibc.rename(temporary, localPath) == 0 else {
                throw SSHError(.invalidArgument, "Cannot write \(localPath): \(String(cString: strerror(errno))).")
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }
}

/// The I/O-thread side of an upload: open, write, set mode, close.
private final class UploadState: @unchecked Sendable {
    enum Phase { case open, write, setMode, close, done }
    let local: FileDescriptor
    let total: UInt64
    let chunkSize: Int
    let remotePath: String
    let mode: Int
    let progress: SFTPClient.Progress?
    var phase = Phase.open
    var file: OpaquePointer?
    let capacity: Int
    let buffer: UnsafeMutableRawPointer
    var head = 0
    var tail = 0
    var acknowledged: UInt64 = 0
    var localEOF = false

    init(file: consuming FileDescriptor, total: UInt64, chunkSize: Int, remotePath: String, mode: Int, progress: SFTPClient.Progress?) {
        self.local = file
        self.total = total
        self.chunkSize = chunkSize
        self.remotePath = remotePath
        self.mode = mode
        self.progress = progress
        self.capacity = chunkSize * 2
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize * 2, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Returns true when finished; false means "call again when the socket is ready".
    func step(sftp: OpaquePointer, loop: SSHLoop, client: SFTPClient) throws -> Bool {
        if phase == .open {
            guard let file = cssh2_sftp_open(sftp, remotePath, UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC), mode, Int32(LIBSSH2_SFTP_OPENFILE)) else {
                let rc = libssh2_session_last_errno(loop.session!)
                if rc == LIBSSH2_ERROR_EAGAIN { return false }
                throw client.error(loop, "creating \(remotePath)", rc: rc).error
            }
            self.file = file
            phase = .write
        }
        while phase == .write {
            if !localEOF && tail - head < chunkSize {
                // Keep unacknowledged bytes at the front: libssh2 expects the
                // next call to start at the first byte it has not had acked.
                if head > 0 {
                    memmove(buffer, buffer + head, tail - head)
                    tail -= head
                    head = 0
                }
                let got: Int
                do {
                    got = try local.read(into: UnsafeMutableRawBufferPointer(start: buffer + tail, count: capacity - tail))
                } catch {
                    throw SSHError(.invalidArgument, "Reading the local file failed: \(String(cString: strerror(error.code))).")
                }
                if got == 0 { localEOF = true }
                tail += got
            }
            if head == tail {
                if localEOF { phase = .setMode }
                continue
            }
            let rc = libssh2_sftp_write(file, buffer.advanced(by: head).assumingMemoryBound(to: CChar.self), tail - head)
            if rc == Int(LIBSSH2_ERROR_EAGAIN) { return false }
            if rc < 0 { throw client.error(loop, "writing \(remotePath)", rc: Int32(rc)).error }
            head += rc
            acknowledged += UInt64(rc)
            progress?(acknowledged, total)
        }
        if phase == .setMode {
            // The server applies its umask on create; set the mode explicitly.
            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            attributes.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
            attributes.permissions = UInt(mode)
            let rc = cssh2_sftp_fstat(file, &attributes, 1)
            if rc == LIBSSH2_ERROR_EAGAIN { return false }
            if rc != 0 { throw client.error(loop, "setting the mode of \(remotePath)", rc: rc).error }
            phase = .close
        }
        if phase == .close {
            let rc = libssh2_sftp_close_handle(file)
            if rc == LIBSSH2_ERROR_EAGAIN { return false }
            file = nil
            if rc != 0 { throw client.error(loop, "closing \(remotePath)", rc: rc).error }
            phase = .done
        }
        return true
    }

    func abandon(_ loop: SSHLoop) {
        guard let file else { return }
        self.file = nil
        loop.submitCleanup("closing a failed upload") { _ in libssh2_sftp_close_handle(file) != LIBSSH2_ERROR_EAGAIN }
    }
}

/// The I/O-thread side of a download.
private final class DownloadState: @unchecked Sendable {
    /// The owner of the local file, until `closeLocal`; `localFD` is its number for writes.
    var local: FileDescriptor?
    let localFD: Int32
    let total: UInt64
    let remotePath: String
    let progress: SFTPClient.Progress?
    var file: OpaquePointer?
    var buffer: [UInt8]
    var received: UInt64 = 0
    var finished = false

    init(file: consuming FileDescriptor, total: UInt64, chunkSize: Int, remotePath: String, progress: SFTPClient.Progress?) {
        localFD = file.rawValue
        self.local = consume file
        self.total = total
        self.remotePath = remotePath
        self.progress = progress
        self.buffer = [UInt8](repeating: 0, count: chunkSize)
    }

    func step(sftp: OpaquePointer, loop: SSHLoop, client: SFTPClient) throws -> Bool {
        if file == nil && !finished {
            guard let file = cssh2_sftp_open(sftp, remotePath, UInt(LIBSSH2_FXF_READ), 0, Int32(LIBSSH2_SFTP_OPENFILE)) else {
                let rc = libssh2_session_last_errno(loop.session!)
                if rc == LIBSSH2_ERROR_EAGAIN { return false }
                throw client.error(loop, "opening \(remotePath)", rc: rc).error
            }
            self.file = file
        }
        while !finished, let file {
            let rc = buffer.withUnsafeMutableBytes { bytes in
                libssh2_sftp_read(file, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
            }
            if rc == Int(LIBSSH2_ERROR_EAGAIN) { return false }
            if rc < 0 { throw client.error(loop, "reading \(remotePath)", rc: Int32(rc)).error }
            if rc == 0 { finished = true; break }
            var written = 0
            while written < rc {
                let n = buffer.withUnsafeBytes { raw in Errno.retrying { Glibc.write(localFD, raw.baseAddress! + written, rc - written) } }
                if n < 0 { throw SSHError(.invalidArgument, "Writing the local file failed: \(String(cString: strerror(errno))).") }
                written += n
            }
            received += UInt64(rc)
            progress?(received, total)
        }
        if let file {
            let rc = libssh2_sftp_close_handle(file)
            if rc == LIBSSH2_ERROR_EAGAIN { return false }
            self.file = nil
        }
        return true
    }

    func abandon(_ loop: SSHLoop) {
        guard let file else { return }
        self.file = nil
        loop.submitCleanup("closing a failed download") { _ in libssh2_sftp_close_handle(file) != LIBSSH2_ERROR_EAGAIN }
    }

    /// Closes the local file, reporting its error (once the transfer is done).
    func closeLocal(_ path: String) throws {
        guard let file = local.take() else { return }
        do {
            try file.close()
        } catch {
            throw SSHError(.invalidArgument, "Cannot write \(path): \(String(cString: strerror(error.code))).")
        }
    }
}
