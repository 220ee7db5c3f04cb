import Glibc
import Synchronization

/// One sync per destination at a time, for the whole sync (scan to last
/// apply): within the agent by the root's device and inode, and across
/// processes by `flock` on the root's descriptor (where the file system
/// supports it).
public final class RootLock {
    private static let held = Mutex<Set<SyncRoot.Identity>>([])

    public let identity: SyncRoot.Identity
    /// Kept open while the lock is held: closing it would drop the flock.
    private let fd: OwnedFD

    private init(identity: SyncRoot.Identity, fd: OwnedFD) {
        self.identity = identity
        self.fd = fd
    }

    /// Takes the lock of `root`, polling until `waitNs` have passed; then a `busy` error.
    public static func acquire(_ root: ResolvedRoot, waitNs: UInt64) throws(SyncError) -> RootLock {
        let deadline = monotonicNs() + waitNs
        while true {
            if tryAcquire(root) { return RootLock(identity: root.identity, fd: root.fd) }
            let now = monotonicNs()
            guard now < deadline else {
                throw SyncError(.busy, "another sync to \(root.display) is in progress; it holds the destination until its last batch")
            }
            var pause = timespec(tv_sec: 0, tv_nsec: Int(min(20_000_000, deadline - now)))
            _ = nanosleep(&pause, nil)
        }
    }

    private static func tryAcquire(_ root: ResolvedRoot) -> Bool {
        let identity = root.identity
        guard held.withLock({ $0.insert(identity).inserted }) else { return false }
        // Another agent (another process): flock. A file system without flock
        // (EINVAL, ENOLCK, EBADF on NFS for a read-only descriptor) keeps the in-agent lock only.
        if Sys.retry({ flock(root.fd.raw, LOCK_EX | LOCK_NB) }) != 0 && errno == EWOULDBLOCK {
            _ = held.withLock { $0.remove(identity) }
            return false
        }
        return true
    }

    deinit {
        _ = flock(fd.raw, LOCK_UN)
        _ = Self.held.withLock { $0.remove(identity) }
    }

    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
