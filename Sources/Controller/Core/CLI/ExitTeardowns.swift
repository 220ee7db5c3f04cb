import Dispatch
import Foundation
import Synchronization

/// Work that must happen however the process ends: terminating the cloud instances a
/// run launched. The normal and error paths run their teardown themselves; a second
/// Ctrl-C, which means "quit now", skips everything else but still runs these.
final class ExitTeardowns: Sendable {
    static let shared = ExitTeardowns()

    private let entries = Mutex<[UInt64: @Sendable () async -> Void]>([:])
    private let nextID = Atomic<UInt64>(0)

    /// Registers `teardown`; the returned id removes it once it has run by the normal path.
    func register(_ teardown: @escaping @Sendable () async -> Void) -> UInt64 {
        let id = nextID.add(1, ordering: .relaxed).newValue
        entries.withLock { $0[id] = teardown }
        return id
    }

    func remove(_ id: UInt64) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    /// Runs every registered teardown at once and waits for them, at most `timeout`:
    /// for a caller about to exit from a thread that is not in the cooperative pool.
    func runBlocking(timeout: Duration) {
        let pending = entries.withLock { entries in
            defer { entries.removeAll() }
            return Array(entries.values)
        }
        guard !pending.isEmpty else { return }
        FileHandle.standardError.write(Data("automation: terminating what this run launched before exiting\n".utf8))
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await withTaskGroup(of: Void.self) { group in
                for teardown in pending { group.addTask { await teardown() } }
            }
            done.signal()
        }
        let seconds = Double(timeout.components.seconds)
        if done.wait(timeout: .now() + seconds) == .timedOut {
            FileHandle.standardError.write(Data("automation: teardown did not finish within \(Int(seconds)) s; instances end at their expiry (aws gc)\n".utf8))
        }
    }
}
