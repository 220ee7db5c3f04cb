import CAgentSupport
import Glibc

/// An open file descriptor with exactly one owner (swift-system's
/// `FileDescriptor` shape, made non-copyable): it is closed once, by
/// `close()`, by `closeAfter`, or when its owner goes away, and a closed or
/// handed-over descriptor cannot be used again: the compiler sees to it.
/// Every descriptor is opened close-on-exec. Shared by the agent (pipes of
/// the processes it spawns, its wake-up pipes, file operations) and the
/// controller (the local agent's pipes, SFTP transfers' local files).
public struct FileDescriptor: ~Copyable, Sendable {
    /// The number, for system calls. Valid while this value lives.
    public let rawValue: Int32

    /// Takes ownership of an open descriptor.
    public init(adopting rawValue: Int32) {
        precondition(rawValue >= 0, "FileDescriptor(adopting:) needs an open descriptor")
        self.rawValue = rawValue
    }

    deinit {
        // Never retried: on Linux the descriptor is gone even when close fails.
        _ = Glibc.close(rawValue)
    }

    /// Closes now, reporting the error a deferred write may surface here.
    public consuming func close() throws(Errno) {
        let fd = rawValue
        discard self
        if Glibc.close(fd) != 0 && errno != EINTR { throw Errno("close", errno) }
    }

    /// Closes now, ignoring errors (a read end, or a descriptor another
    /// process now holds too, has nothing to report).
    public consuming func closeQuietly() {
        let fd = rawValue
        discard self
        _ = Glibc.close(fd)
    }

    /// Hands the descriptor to an owner outside Swift's view (a C library, a
    /// transport that closes it itself); this value no longer closes it.
    public consuming func release() -> Int32 {
        let fd = rawValue
        discard self
        return fd
    }

    /// Runs `body`, then closes, whatever `body` does.
    public consuming func closeAfter<R, E: Error>(_ body: (borrowing FileDescriptor) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E>
        do {
            result = .success(try body(self))
        } catch {
            result = .failure(error)
        }
        let fd = rawValue
        discard self
        _ = Glibc.close(fd)
        return try result.get()
    }

    /// `open(2)` with O_CLOEXEC added.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) -> FileDescriptor {
        let fd = Errno.retrying { Glibc.open(path, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw Errno("open \(path)", errno) }
        return FileDescriptor(adopting: fd)
    }

    /// `openat(2)` relative to this directory, with O_CLOEXEC added.
    public func openAt(_ name: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) -> FileDescriptor {
        let fd = Errno.retrying { Glibc.openat(rawValue, name, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw Errno("open \(name)", errno) }
        return FileDescriptor(adopting: fd)
    }

    /// A pipe, both ends close-on-exec from birth (so no concurrent spawn inherits them).
    public static func pipe() throws(Errno) -> PipeEnds {
        var fds: [Int32] = [-1, -1]
        guard cagent_pipe2_cloexec(&fds) == 0 else { throw Errno("pipe", errno) }
        return PipeEnds(read: FileDescriptor(adopting: fds[0]), write: FileDescriptor(adopting: fds[1]))
    }

    /// `fstat(2)`, checked.
    public func status() throws(Errno) -> Glibc.stat {
        var st = Glibc.stat()
        guard fstat(rawValue, &st) == 0 else { throw Errno("fstat", errno) }
        return st
    }

    /// Reads up to `buffer.count` bytes (0 at end of file), retrying EINTR.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        let n = Errno.retrying { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
        guard n >= 0 else { throw Errno("read", errno) }
        return n
    }

    /// Writes all of `bytes` (blocking descriptors), retrying EINTR and short writes.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let n = Errno.retrying { Glibc.write(rawValue, bytes.baseAddress! + offset, bytes.count - offset) }
            guard n > 0 else { throw Errno("write", n < 0 ? errno : EIO) }
            offset += n
        }
    }

    public func setNonBlocking() {
        let flags = fcntl(rawValue, F_GETFL)
        if flags >= 0 { _ = fcntl(rawValue, F_SETFL, flags | O_NONBLOCK) }
    }
}

/// Both ends of a pipe, each with its own owner.
@frozen
public struct PipeEnds: ~Copyable, Sendable {
    public var read: FileDescriptor
    public var write: FileDescriptor
}

/// A failed system call: which, and errno.
public struct Errno: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var code: Int32

    public init(_ operation: String, _ code: Int32) {
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }

    /// Retries a call that failed with EINTR.
    @inline(__always)
    public static func retrying<T: SignedInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }
}
