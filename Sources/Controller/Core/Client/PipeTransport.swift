import Descriptors
import Foundation
import Glibc
import Synchronization

/// A transport over a pair of blocking descriptors (a child's stdout and stdin),
/// read by a dedicated thread so the cooperative pool never blocks.
public final class PipeTransport: AgentTransport, Sendable {
    /// The ends' numbers, for system calls while their owners hold them open.
    private let readFD: Int32
    private let writeFD: Int32
    /// The owners: the read end is closed when the reader ends, the write end
    /// by `close()` (nil once closed); whatever an error path left open is
    /// closed when the transport goes (the reader thread holds it meanwhile).
    private let readEnd: Mutex<FileDescriptor?>
    private let writeEnd: Mutex<FileDescriptor?>
    private let onClose: @Sendable () -> Void
    private let shutdownOnClose: Bool

    /// Takes ownership of both ends; `onClose` runs once after the reader ends.
    /// `shutdownOnClose` is for sockets: closing also ends the reading side.
    public init(read: consuming FileDescriptor, write: consuming FileDescriptor, shutdownOnClose: Bool = false,
                onClose: @escaping @Sendable () -> Void = {}) {
        // A peer that died must surface as EPIPE on write, not kill this process.
        signal(SIGPIPE, SIG_IGN)
        readFD = read.rawValue
        writeFD = write.rawValue
        readEnd = Mutex<FileDescriptor?>(.some(read))
        writeEnd = Mutex<FileDescriptor?>(.some(write))
        self.shutdownOnClose = shutdownOnClose
        self.onClose = onClose
    }

    public func start(_ sink: any TransportSink) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            var failure: (any Error)?
            while true {
                let n = buffer.withUnsafeMutableBytes { raw in Errno.retrying { Glibc.read(readFD, raw.baseAddress, raw.count) } }
                if n > 0 {
                    buffer.withUnsafeBytes { raw in sink.transportReceived(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
                } else {
                    if n < 0 { failure = Errno("read from agent", errno) }
                    break
                }
            }
            readEnd.withLock { $0 = nil }
            sink.transportClosed(error: failure)
            onClose()
        }
        thread.name = "agent-reader"
        thread.start()
    }

    public func send(_ bytes: [UInt8]) throws {
        try writeEnd.withLock { end throws(Errno) in
            guard end != nil else { throw Errno("write to agent", EPIPE) }
            let failure: Errno? = bytes.withUnsafeBytes { raw -> Errno? in
                do throws(Errno) { try FileDescriptor.writeAll(writeFD, raw); return nil } catch { return error }
            }
            if let failure { throw Errno("write to agent", failure.code) }
        }
    }

    public func close() {
        writeEnd.withLock { end in
            guard end != nil else { return }
            if shutdownOnClose { Glibc.shutdown(writeFD, Int32(SHUT_RDWR)) }
            end = nil
        }
    }
}
