import Glibc

/// What the session owes the controller: bytes waiting to be written, and
/// every event and reply it has not acknowledged yet (the flow-control
/// window, and what a resumed connection gets again).
///
/// Every event and reply carries a sequence number and is kept until the
/// controller acknowledges it. The bytes not yet acknowledged count against
/// the window: once it is full the session stops reading process output, so
/// a slow controller slows the processes instead of growing the agent's
/// memory. Up to `memoryLimit` bytes are kept in memory, the rest in a spill
/// file (when the session has one), so a session whose controller is away
/// keeps its processes' output without holding it all in memory.
struct OutputQueue {
    enum FlushResult {
        case drained, blocked, failed(Int32)
        /// Output kept for the controller could not be read back from the spill file.
        case lost(String)
    }

    private enum Stored {
        case memory([UInt8])
        case disk(offset: Int64)
        /// Sent, and not kept for a later connection (`keepsSentLines` off):
        /// only its size still counts, against the window, until acknowledged.
        case released
    }

    private struct Entry {
        var seq: UInt64
        var size: Int
        var stored: Stored
    }

    /// Bytes on their way to the current connection.
    private var buffer: [UInt8] = []
    private var offset = 0
    /// Unacknowledged events and replies from `head` on; from `cursor` on
    /// they have not been handed to the current connection yet.
    private var entries: [Entry] = []
    private var head = 0
    private var cursor = 0
    private(set) var unackedBytes = 0
    private var unsentBytes = 0
    private var memoryBytes = 0
    private var diskEntries = 0
    private(set) var lastSeq: UInt64 = 0
    private(set) var ackedSeq: UInt64 = 0

    /// Kept in memory before lines go to the spill file.
    var memoryLimit = Int.max
    /// Whether lines handed to the connection are kept until acknowledged,
    /// to be sent again on a resumed connection (resumable sessions). Off,
    /// a controller that reads but never acknowledges costs no memory.
    var keepsSentLines = false
    /// Sent lines still counted against the window (their sizes only, with
    /// `keepsSentLines` off) beyond which the oldest are taken as
    /// acknowledged: a controller that reads but never acknowledges would
    /// otherwise grow this record by an entry per reply. A controller that
    /// acknowledges as the protocol says (every quarter window) never gets near it.
    var maxReleasedEntries = 1 << 18

    /// Events and replies not acknowledged yet, for the tests.
    var unackedEntries: Int { entries.count - head }
    /// Where the spill file is created on first need; nil: memory only.
    var spillDirectory: String?
    var spillLimit: Int64 = 1 << 30
    var sessionID = ""
    private(set) var spill: SpillFile?
    private var spillUnavailable = false

    var pendingBytes: Int { buffer.count - offset + unsentBytes }

    /// Whether more process output may be taken: the spill file has room, or
    /// (with none) memory has.
    var roomForOutput: Bool {
        if let spill { return spill.size < spillLimit }
        if spillDirectory != nil && !spillUnavailable { return true }
        return memoryBytes < memoryLimit
    }

    /// The sequence number for the next event or reply.
    mutating func nextSeq() -> UInt64 {
        lastSeq += 1
        return lastSeq
    }

    /// Queues a line: with `seq` it is kept until acknowledged, without (the
    /// hello) it only goes to the current connection. Throws when the spill
    /// file cannot be written: the session cannot keep its promise then.
    mutating func append(_ line: [UInt8], seq: UInt64?) throws(SpillFile.Failure) {
        guard let seq else {
            compactBuffer()
            buffer.append(contentsOf: line)
            return
        }
        var stored = Stored.memory(line)
        if diskEntries > 0 || memoryBytes + line.count > memoryLimit, let spill = try spillFile() {
            stored = .disk(offset: try spill.append(line))
            diskEntries += 1
        } else {
            memoryBytes += line.count
        }
        entries.append(Entry(seq: seq, size: line.count, stored: stored))
        unackedBytes += line.count
        unsentBytes += line.count
    }

    private mutating func spillFile() throws(SpillFile.Failure) -> SpillFile? {
        if let spill { return spill }
        guard let directory = spillDirectory, !spillUnavailable else { return nil }
        do {
            spill = try SpillFile(directory: directory, session: sessionID)
        } catch {
            // Memory only, then: output pauses at the memory bound instead.
            spillUnavailable = true
        }
        return spill
    }

    /// Forgets everything up to `seq`. Returns false if `seq` was never sent.
    mutating func ack(_ seq: UInt64) -> Bool {
        guard seq <= lastSeq else { return false }
        guard seq > ackedSeq else { return true }
        ackedSeq = seq
        while head < entries.count && entries[head].seq <= seq {
            let entry = entries[head]
            unackedBytes -= entry.size
            switch entry.stored {
            case .disk: diskEntries -= 1
            case .memory: memoryBytes -= entry.size
            case .released: break
            }
            if head >= cursor { unsentBytes -= entry.size }
            entries[head].stored = .memory([])
            head += 1
        }
        cursor = max(cursor, head)
        if diskEntries == 0, let spill, spill.size > 0 { spill.empty() }
        if head > 1024 && head * 2 > entries.count {
            entries.removeFirst(head)
            cursor -= head
            head = 0
        }
        return true
    }

    /// The connection is gone: what it was sent but did not acknowledge goes
    /// again to the next one.
    mutating func disconnect() {
        buffer.removeAll(keepingCapacity: false)
        offset = 0
        cursor = head
        unsentBytes = unackedBytes
    }

    /// Writes what the descriptor takes without blocking, reading kept lines
    /// back from the spill file as their turn comes.
    mutating func flush(to fd: Int32) -> FlushResult {
        while true {
            if offset == buffer.count {
                buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
                offset = 0
                do {
                    guard try refill() else { return .drained }
                } catch {
                    return .lost(error.message)
                }
            }
            let n = buffer.withUnsafeBytes { raw in
                Sys.retrying { Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
            }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return .blocked
            } else {
                return .failed(n < 0 ? errno : EPIPE)
            }
        }
    }

    /// Moves up to 256 KiB of kept lines into the write buffer; false when none are left.
    private mutating func refill() throws(SpillFile.Failure) -> Bool {
        guard cursor < entries.count else { return false }
        while cursor < entries.count && buffer.count < 256 * 1024 {
            let entry = entries[cursor]
            switch entry.stored {
            case .memory(let line): buffer.append(contentsOf: line)
            case .disk(let at):
                guard let spill else { throw SpillFile.Failure(message: "the spill file is gone") }
                buffer.append(contentsOf: try spill.read(at: at, count: entry.size))
            case .released:
                throw SpillFile.Failure(message: "a line was released before it was sent")
            }
            if !keepsSentLines, case .memory = entry.stored {
                entries[cursor].stored = .released
                memoryBytes -= entry.size
            }
            unsentBytes -= entry.size
            cursor += 1
        }
        if !keepsSentLines { forgetOldestReleased() }
        return true
    }

    /// See `maxReleasedEntries`.
    private mutating func forgetOldestReleased() {
        while cursor - head > maxReleasedEntries, case .released = entries[head].stored {
            unackedBytes -= entries[head].size
            ackedSeq = entries[head].seq
            head += 1
        }
        if head > 1024 && head * 2 > entries.count {
            entries.removeFirst(head)
            cursor -= head
            head = 0
        }
    }

    private mutating func compactBuffer() {
        if offset > 0 && offset >= buffer.count / 2 {
            buffer.removeFirst(offset)
            offset = 0
        }
    }
}
