import AgentProtocol
import Synchronization

/// The listener's resumable sessions by id, so that a controller that lost
/// its connection can take its session over from a new one; and why recent
/// ones ended, so that a late resume is told why instead of "unknown".
final class SessionTable: Sendable {
    static let shared = SessionTable()

    private enum Entry {
        case live(Mailbox)
        case ended(String)
    }

    private struct Table {
        var entries: [String: Entry] = [:]
        var endedOrder: [String] = []
    }

    /// Ended sessions remembered, oldest forgotten first.
    static let endedKept = 256

    private let table = Mutex(Table())

    func register(_ id: String, mailbox: Mailbox) {
        table.withLock { $0.entries[id] = .live(mailbox) }
    }

    /// Marks a session ended; after this no handover reaches its mailbox.
    func ended(_ id: String, reason: String) {
        table.withLock { table in
            guard table.entries[id] != nil else { return }
            table.entries[id] = .ended(reason)
            table.endedOrder.append(id)
            if table.endedOrder.count > Self.endedKept {
                table.entries[table.endedOrder.removeFirst()] = nil
            }
        }
    }

    /// Posts a handover to the live session `id`, or says why it cannot be resumed.
    func handOver(_ id: String, _ handover: Handover) -> ProtocolError? {
        table.withLock { table in
            switch table.entries[id] {
            case .live(let mailbox):
                mailbox.post(.attach(handover))
                return nil
            case .ended(let reason):
                return ProtocolError(.resumeFailed, "session \(id) cannot be resumed: \(reason)")
            case nil:
                return ProtocolError(.unknownSession, "this agent has no session \(id) (it ended long ago, or the agent was restarted)")
            }
        }
    }
}

/// A new connection that asked to resume a session, on its way to that session's thread.
struct Handover: Sendable {
    /// The connection; the receiving session owns it from now on.
    var fd: Int32
    /// What the controller has received: replay starts after it.
    var ack: UInt64
    var window: Int?
    /// Bytes the new connection sent after its hello, already read.
    var framer: LineFramer
    var lines: [LineFramer.Item]
}
