import AgentProtocol
import Glibc

/// Thin helpers over libc that turn errno into protocol errors in one place.
enum Sys {
    /// Monotonic time in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Milliseconds as nanoseconds, saturating: no request value can trap here
    /// even if validation were bypassed (negative counts as zero).
    static func nanoseconds(ms: Int) -> UInt64 {
        let (ns, overflow) = UInt64(max(0, ms)).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? .max : ns
    }

    /// `now + ns`, saturating at the end of time.
    static func deadline(_ now: UInt64, plus ns: UInt64) -> UInt64 {
        let (t, overflow) = now.addingReportingOverflow(ns)
        return overflow ? .max : t
    }

    /// Retries a call that failed with EINTR.
    @inline(__always)
    static func retrying<T: SignedInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    static func setCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC)
    }

    static func close(_ fd: inout Int32) {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }

    static func errorString(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// The protocol error for a failed system call on `path`.
    static func error(_ operation: String, _ path: String, errno code: Int32 = errno) -> ProtocolError {
        let detail = "\(operation) \(path): \(errorString(code))"
        switch code {
        case ENOENT: return ProtocolError(.notFound, detail)
        case EACCES, EPERM: return ProtocolError(.permissionDenied, detail)
        case EEXIST: return ProtocolError(.exists, detail)
        case ENOTDIR: return ProtocolError(.notADirectory, detail)
        case EISDIR: return ProtocolError(.isADirectory, detail)
        case ENOTEMPTY: return ProtocolError(.notEmpty, detail)
        case ENOSPC, EDQUOT: return ProtocolError(.noSpace, detail)
        case EROFS: return ProtocolError(.readOnly, detail)
        case EFBIG: return ProtocolError(.tooLarge, detail)
        default: return ProtocolError(.ioError, detail)
        }
    }

    /// Writes all of `bytes` to a blocking descriptor.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = retrying { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}

/// Starts detached OS threads; the agent avoids Foundation's Thread to stay small.
enum Threads {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// False when no thread can be started (EAGAIN: thread or memory limits).
    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}

/// Calls `body` with a NULL-terminated array of C strings.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
