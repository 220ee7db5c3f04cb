import Glibc

/// Bytes waiting to be written to the controller, and the flow-control window.
///
/// Every event and reply carries a sequence number; the bytes of those not yet
/// acknowledged count against the window. Once the window is full the session
/// stops reading process output, so a slow controller slows the processes
/// instead of growing the agent's memory.
struct OutputQueue {
    enum FlushResult {
        case drained, blocked, failed(Int32)
    }

    private var buffer: [UInt8] = []
    private var offset = 0
    private var unacked: [(seq: UInt64, size: Int)] = []
    private var unackedHead = 0
    private(set) var unackedBytes = 0
    private(set) var lastSeq: UInt64 = 0

    var pendingBytes: Int { buffer.count - offset }

    /// The sequence number for the next event or reply.
    mutating func nextSeq() -> UInt64 {
        lastSeq += 1
        return lastSeq
    }

    mutating func append(_ line: [UInt8], seq: UInt64?) {
        if offset > 0 && offset >= buffer.count / 2 {
            buffer.removeFirst(offset)
            offset = 0
        }
        buffer.append(contentsOf: line)
        if let seq {
            unacked.append((seq, line.count))
            unackedBytes += line.count
        }
    }

    /// Forgets everything up to `seq`. Returns false if `seq` was never sent.
    mutating func ack(_ seq: UInt64) -> Bool {
        guard seq <= lastSeq else { return false }
        while unackedHead < unacked.count && unacked[unackedHead].seq <= seq {
            unackedBytes -= unacked[unackedHead].size
            unackedHead += 1
        }
        if unackedHead > 1024 && unackedHead * 2 > unacked.count {
            unacked.removeFirst(unackedHead)
            unackedHead = 0
        }
        return true
    }

    /// Writes what the descriptor takes without blocking.
    mutating func flush(to fd: Int32) -> FlushResult {
        while offset < buffer.count {
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
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
        offset = 0
        return .drained
    }
}
