import CLibSSH2
import Foundation

/// Attributes of a remote file.
public struct SFTPFileInfo: Sendable {
    /// Size in bytes.
    public var size: UInt64
    /// Mode bits including the file type (as in st_mode).
    public var permissions: UInt32
    /// Whether it is a directory.
    public var isDirectory: Bool { permissions & 0o170000 == 0o040000 }
    /// Whether it is a regular file.
    public var isRegularFile: Bool { permissions & 0o170000 == 0o100000 }
}

/// The SFTP subsystem of one connection. Requests run on the connection's I/O
/// thread, one at a time; transfers keep many write or read requests in
/// flight by handing libssh2 large buffers.
public final class SFTPClient: @unchecked Sendable {
    let loop: SSHLoop
    let handle: OpaquePointer

    private init(loop: SSHLoop, handle: OpaquePointer) {
        self.loop = loop
        self.handle = handle
        // If the connection ends first, its teardown shuts this down.
        loop.registerSessionResource(ObjectIdentifier(self)) { _ = libssh2_sftp_shutdown(handle) }
    }

    deinit {
        let handle = self.handle
        guard loop.unregisterSessionResource(ObjectIdentifier(self)) else { return }
        loop.submitCleanup("closing SFTP") { _ in libssh2_sftp_shutdown(handle) != LIBSSH2_ERROR_EAGAIN }
    }

    static func open(_ loop: SSHLoop) async throws -> SFTPClient {
        let raw = try await loop.perform("starting SFTP") { loop -> SendablePointer? in
            guard let session = loop.session else { throw SSHError(.closed, "\(loop.label): the connection is closed.") }
            guard let sftp = libssh2_sftp_init(session) else {
                let rc = libssh2_session_last_errno(session)
                if rc == LIBSSH2_ERROR_EAGAIN { return nil }
                throw loop.makeError(.sftpFailed, "starting SFTP (does the server have an sftp Subsystem?)", rc: rc)
            }
            return SendablePointer(pointer: sftp)
        }
        return SFTPClient(loop: loop, handle: raw.pointer)
    }

    /// File attributes, or nil if `path` does not exist. Follows symlinks.
    public func stat(_ path: String) async throws -> SFTPFileInfo? {
        let sftp = handle
        return try await loop.perform("stat \(path)") { loop -> SFTPFileInfo?? in
            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            let rc = cssh2_sftp_stat(sftp, path, LIBSSH2_SFTP_STAT, &attributes)
            if rc == LIBSSH2_ERROR_EAGAIN { return nil }
            if rc == 0 {
                return .some(SFTPFileInfo(size: attributes.filesize, permissions: UInt32(attributes.permissions)))
            }
            let error = self.error(loop, "stat \(path)", rc: rc)
            if error.sftpStatus == Int32(LIBSSH2_FX_NO_SUCH_FILE) { return .some(nil) }
            throw error.error
        }
    }

    /// Creates a directory; succeeds if it already exists.
    public func makeDirectory(_ path: String, mode: Int = 0o755) async throws {
        let sftp = handle
        let created: Bool = try await loop.perform("mkdir \(path)") { loop -> Bool? in
            let rc = cssh2_sftp_mkdir(sftp, path, mode)
            if rc == LIBSSH2_ERROR_EAGAIN { return nil }
            return rc == 0
        }
        if !created {
            guard let info = try await stat(path), info.isDirectory else {
                throw SSHError(.sftpFailed, "\(loop.label): cannot create the directory \(path) (permission denied, or a file is in the way).")
            }
        }
    }

    /// Creates `path` and its missing parents (relative paths start at the login directory).
    public func makeDirectories(_ path: String, mode: Int = 0o755) async throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if try await stat(prefix)?.isDirectory != true {
                try await makeDirectory(prefix, mode: mode)
            }
            prefix += "/"
        }
    }

    /// Renames `from` to `to`, replacing `to` atomically (posix-rename).
    public func rename(_ from: String, to: String) async throws {
        let sftp = handle
        try await loop.perform("rename \(from)") { loop -> Bool? in
            let rc = cssh2_sftp_rename(sftp, from, to)
            if rc == LIBSSH2_ERROR_EAGAIN { return nil }
            if rc != 0 { throw self.error(loop, "renaming \(from) to \(to)", rc: rc).error }
            return true
        }
    }

    /// Removes a file; succeeds if it does not exist.
    public func remove(_ path: String) async throws {
        let sftp = handle
        try await loop.perform("remove \(path)") { loop -> Bool? in
            let rc = cssh2_sftp_unlink(sftp, path)
            if rc == LIBSSH2_ERROR_EAGAIN { return nil }
            if rc != 0 {
                let error = self.error(loop, "removing \(path)", rc: rc)
                if error.sftpStatus != Int32(LIBSSH2_FX_NO_SUCH_FILE) { throw error.error }
            }
            return true
        }
    }

    /// The absolute, canonical form of `path` on the server ("." is the login directory).
    public func realPath(_ path: String) async throws -> String {
        let sftp = handle
        return try await loop.perform("realpath \(path)") { loop -> String? in
            var buffer = [CChar](repeating: 0, count: 4096)
            let rc = cssh2_sftp_realpath(sftp, path, &buffer, UInt32(buffer.count))
            if rc == LIBSSH2_ERROR_EAGAIN { return nil }
            if rc < 0 { throw self.error(loop, "resolving \(path)", rc: rc).error }
            return String(decoding: buffer.prefix(Int(rc)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Turns a failed call into an error carrying the SFTP status code.
    func error(_ loop: SSHLoop, _ what: String, rc: Int32) -> (error: SSHError, sftpStatus: Int32?) {
        guard rc == LIBSSH2_ERROR_SFTP_PROTOCOL else { return (loop.makeError(.sftpFailed, what, rc: rc), nil) }
        let status = Int32(truncatingIfNeeded: libssh2_sftp_last_error(handle))
        let reason: String
        switch status {
        case Int32(LIBSSH2_FX_NO_SUCH_FILE): reason = "no such file or directory"
        case Int32(LIBSSH2_FX_PERMISSION_DENIED): reason = "permission denied"
        case Int32(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM): reason = "no space left on the remote filesystem"
        case Int32(LIBSSH2_FX_QUOTA_EXCEEDED): reason = "quota exceeded"
        case Int32(LIBSSH2_FX_FILE_ALREADY_EXISTS): reason = "file already exists"
        case Int32(LIBSSH2_FX_NOT_A_DIRECTORY): reason = "not a directory"
        case Int32(LIBSSH2_FX_WRITE_PROTECT), Int32(LIBSSH2_FX_NO_MEDIA): reason = "read-only filesystem"
        default: reason = "SFTP status \(status)"
        }
        return (SSHError(.sftpFailed, "\(loop.label): \(what) failed: \(reason).", libssh2Code: rc), status)
    }
}

/// A C handle passed back from the I/O thread.
struct SendablePointer: @unchecked Sendable {
    let pointer: OpaquePointer
}
