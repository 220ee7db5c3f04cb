import AgentProtocol
import FoundationEssentials

/// The bytes on their way into one process's stdin, and the `exec.stdin`
/// requests waiting for theirs to be written. I/O-free; the session writes
/// `pending` to the pipe and reports what the pipe took.
///
/// Memory is bounded: at most `maxQueued` bytes wait at once, so a client
/// that does not wait for its replies gets `too_large` instead of growing
/// the agent.
struct StdinQueue {
    static let maxQueued = 4 * ProtocolConstants.maxChunkSize

    struct Waiter {
        var id: UInt64
        var start: Int64
        var end: Int64
    }

    private var buffer: [UInt8] = []
    private var offset = 0
    private var waiters: [Waiter] = []
    /// Bytes accepted and bytes written so far.
    private(set) var accepted: Int64 = 0
    private(set) var written: Int64 = 0
    /// No more data will come: close the pipe once `pending` is empty.
    var eofRequested = false

    var pendingCount: Int { buffer.count - offset }
    var wantsClose: Bool { eofRequested && pendingCount == 0 }

    /// The bytes still to write.
    func withPending<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
    }

    /// Queues bytes (for request `id`, or nil for the exec's inline stdin).
    /// Returns the waiters already complete (an empty chunk).
    mutating func append(_ data: Data, eof: Bool, id: UInt64?) throws(ProtocolError) -> [(UInt64, StdinResult)] {
        guard pendingCount + data.count <= Self.maxQueued else {
            throw ProtocolError(.tooLarge, "\(pendingCount) bytes of stdin are still waiting for the process; wait for the earlier exec.stdin replies (at most \(Self.maxQueued) bytes queued)")
        }
        if offset > 0 && offset >= buffer.count / 2 {
            buffer.removeFirst(offset)
            offset = 0
        }
        buffer.append(contentsOf: data)
        let start = accepted
        accepted += Int64(data.count)
        if eof { eofRequested = true }
        if let id { waiters.append(Waiter(id: id, start: start, end: accepted)) }
        return completed()
    }

    /// The pipe took `count` bytes; returns the requests now fully written.
    mutating func wrote(_ count: Int) -> [(UInt64, StdinResult)] {
        offset += count
        written += Int64(count)
        if offset == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.count <= 1 << 20)
            offset = 0
        }
        return completed()
    }

    /// The process closed its stdin or ended: whatever waits is discarded and
    /// every waiting request learns how much of it got through.
    mutating func discard() -> [(UInt64, StdinResult)] {
        let result = waiters.map { w in
            (w.id, StdinResult(written: min(max(written - w.start, 0), w.end - w.start), closed: true))
        }
        waiters.removeAll()
        buffer = []
        offset = 0
        eofRequested = true
        return result
    }

    private mutating func completed() -> [(UInt64, StdinResult)] {
        var done: [(UInt64, StdinResult)] = []
        while let first = waiters.first, first.end <= written {
            done.append((first.id, StdinResult(written: first.end - first.start, closed: false)))
            waiters.removeFirst()
        }
        return done
    }
}
