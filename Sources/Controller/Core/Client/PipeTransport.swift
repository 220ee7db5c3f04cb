import Foundation
import Glibc
import Synchronization

/// A transport over a pair of blocking descriptors (a child's stdout and stdin),
/// read by a dedicated thread so the cooperative pool never blocks.
public final class PipeTransport: AgentTransport, @unchecked Sendable {
    private let readFD: Int32
    private let writeFD: Int32
    private let writeLock = Mutex<Bool>(false)  // true once closed
    private let onClose: @Sendable () -> Void
    private let shutdownOnClose: Bool

    /// Takes ownership of both descriptors; `onClose` runs once after the reader ends.
    /// `shutdownOnClose` is for sockets: closing also ends the reading side.
    public init(readFD: Int32, writeFD: Int32, shutdownOnClose: Bool = false, onClose: @escaping @Sendable () -> Void = {}) {
        // A peer that died must surface as EPIPE on write, not kill this process.
        signal(SIGPIPE, SIG_IGN)
        self.readFD = readFD
        self.writeFD = writeFD
        self.shutdownOnClose = shutdownOnClose
        self.onClose = onClose
    }

    public func start(_ sink: any TransportSink) {
        let thread = Thread { [readFD, onClose] in
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            var failure: (any Error)?
            while true {
                let n = buffer.withUnsafeMutableBytes { raw in Glibc.read(readFD, raw.baseAddress, raw.count) }
                if n > 0 {
                    buffer.withUnsafeBytes { raw in sink.transportReceived(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    if n < 0 { failure = POSIXFailure("read from agent", errno) }
                    break
                }
            }
            Glibc.close(readFD)
            sink.transportClosed(error: failure)
            onClose()
        }
        thread.name = "agent-reader"
        thread.start()
    }

    public func send(_ bytes: [UInt8]) throws {
        try writeLock.withLock { closed in
            guard !closed else { throw POSIXFailure("write to agent", EPIPE) }
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { raw in Glibc.write(writeFD, raw.baseAddress! + offset, raw.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw POSIXFailure("write to agent", errno)
                }
                offset += n
            }
        }
    }

    public func close() {
        writeLock.withLock { closed in
            if !closed {
                closed = true
                if shutdownOnClose { Glibc.shutdown(writeFD, Int32(SHUT_RDWR)) }
                Glibc.close(writeFD)
            }
        }
    }
}

/// A failed system call, with errno's text.
public struct POSIXFailure: Error, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public init(_ operation: String, _ code: Int32) {
        self.operation = operation
        self.code = code
    }
    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}
