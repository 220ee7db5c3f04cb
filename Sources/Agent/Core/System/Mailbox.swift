import AgentProtocol
import Descriptors
import Glibc
import Synchronization

/// Hands results from other threads (the reaper, the file worker) to a session's
/// event loop and wakes its poll through a pipe.
final class Mailbox: Sendable {
    enum Item: Sendable {
        case exited(pid: pid_t, status: Int32)
        case finished(id: UInt64, outcome: Result<ReplyBody, ProtocolError>)
        /// A new connection takes over this (resumable) session.
        case attach(Handover)
    }

    private let items = Mutex<[Item]>([])
    private let closed = Atomic<Bool>(false)
    /// Read end, polled by the session; write end, poked by posters. Both
    /// close when the mailbox goes.
    private let wake: FileDescriptor
    private let poke: FileDescriptor
    var wakeFD: Int32 { wake.rawValue }
    private var pokeFD: Int32 { poke.rawValue }

    /// Nil when no pipe can be made (descriptor exhaustion: EMFILE, ENFILE);
    /// the caller refuses the session instead of trapping.
    init?() {
        guard let pipe = try? FileDescriptor.pipe() else { return nil }
        pipe.read.setNonBlocking()
        pipe.write.setNonBlocking()
        wake = pipe.read
        poke = pipe.write
    }

    /// False once the session has ended: work for it is skipped.
    var isOpen: Bool { !closed.load(ordering: .relaxed) }

    /// The session ended: later posts are dropped, and what is waiting goes.
    func close() {
        closed.store(true, ordering: .relaxed)
        items.withLock { $0.removeAll() }
    }

    func post(_ item: Item) {
        let wasEmpty = items.withLock { items in
            if closed.load(ordering: .relaxed) { return false }
            items.append(item)
            return items.count == 1
        }
        if wasEmpty {
            var byte: UInt8 = 1
            _ = Glibc.write(pokeFD, &byte, 1)
        }
    }

    /// Takes everything posted so far and clears the wake-up pipe.
    func drain() -> [Item] {
        var scratch = [UInt8](repeating: 0, count: 64)
        while Glibc.read(wakeFD, &scratch, scratch.count) > 0 {}
        return items.withLock { items in
            defer { items.removeAll() }
            return items
        }
    }
}
