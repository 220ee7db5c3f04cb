import AgentProtocol
import CAgentSupport
import Glibc
import Synchronization

/// Hands results from other threads (the reaper, the file worker) to a session's
/// event loop and wakes its poll through a pipe.
final class Mailbox: Sendable {
    enum Item: Sendable {
        case exited(pid: pid_t, status: Int32)
        case finished(id: UInt64, outcome: Result<ReplyBody, ProtocolError>)
    }

    private let items = Mutex<[Item]>([])
    /// Read end, polled by the session; write end, poked by posters.
    let wakeFD: Int32
    private let pokeFD: Int32

    /// Nil when no pipe can be made (descriptor exhaustion: EMFILE, ENFILE);
    /// the caller refuses the session instead of trapping.
    init?() {
        var fds: [Int32] = [-1, -1]
        guard cagent_pipe2_cloexec(&fds) == 0 else { return nil }
        Sys.setNonBlocking(fds[0])
        Sys.setNonBlocking(fds[1])
        wakeFD = fds[0]
        pokeFD = fds[1]
    }

    deinit {
        Glibc.close(wakeFD)
        Glibc.close(pokeFD)
    }

    func post(_ item: Item) {
        let wasEmpty = items.withLock { items in
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
