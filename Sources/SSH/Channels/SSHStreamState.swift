import CLibSSH2
import Foundation

/// The loop-side state of one open channel (exec or direct-tcpip): its
/// outbound buffer (filled from any thread), and the close sequence that the
/// I/O thread drives.
final class SSHStreamState: @unchecked Sendable {
    enum Phase { case open, closing, waitingForClose, freeing, finished }

    let channel: OpaquePointer
    let readsStderr: Bool
    let name: String

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var outbound: [UInt8] = []
    private var outboundOffset = 0
    private var eofRequested = false
    private var closeRequested = false
    private var sendClosedError: SSHError?
    private var onData: (@Sendable (UnsafeRawBufferPointer, SSHChannel.Stream) -> Void)?
    private var onEnd: (@Sendable (SSHChannel.End) -> Void)?
    private var started = false

    // Loop-thread only.
    private var phase = Phase.open
    private var eofSent = false
    private var endDelivered = false
    private var remoteEnded = false

    /// Above this many unsent bytes, `send` blocks until the loop drains.
    static let outboundLimit = 4 << 20

    init(channel: OpaquePointer, readsStderr: Bool, name: String) {
        self.channel = channel
        self.readsStderr = readsStderr
        self.name = name
    }

    var isFinished: Bool { phase == .finished }

    /// Whether the loop reads this channel (started, or closing).
    var isReading: Bool {
        if phase != .open { return true }
        condition.lock()
        defer { condition.unlock() }
        return started || closeRequested
    }

    // MARK: Any thread

    func start(onData: @escaping @Sendable (UnsafeRawBufferPointer, SSHChannel.Stream) -> Void,
               onEnd: @escaping @Sendable (SSHChannel.End) -> Void) {
        condition.lock()
        self.onData = onData
        self.onEnd = onEnd
        started = true
        condition.unlock()
    }

    func send(_ bytes: UnsafeRawBufferPointer) throws {
        condition.lock()
        defer { condition.unlock() }
        while sendClosedError == nil && !closeRequested && outbound.count - outboundOffset > SSHStreamState.outboundLimit {
            condition.wait()
        }
        if let sendClosedError { throw sendClosedError }
        if closeRequested || eofRequested {
            throw SSHError(.closed, "\(name): the channel is closed for sending.")
        }
        outbound.append(contentsOf: bytes)
    }

    func requestEOF() {
        condition.lock()
        eofRequested = true
        condition.unlock()
    }

    func requestClose() {
        condition.lock()
        closeRequested = true
        condition.broadcast()
        condition.unlock()
    }

    // MARK: Loop thread

    func requestCloseFromLoop() { requestClose() }

    /// Moves bytes in both directions and advances the close sequence.
    /// Returns whether anything happened. Throws only for connection-level failure.
    func pump(_ loop: SSHLoop) throws -> Bool {
        var progress = false
        if phase == .open {
            progress = try flushOutbound(loop) || progress
            condition.lock()
            let isStarted = started
            let wantsClose = closeRequested
            condition.unlock()
            if isStarted {
                progress = try readAvailable(loop) || progress
            }
            if wantsClose || remoteEnded {
                phase = .closing
                progress = true
            }
        }
        if phase == .closing {
            let rc = libssh2_channel_close(channel)
            if rc == LIBSSH2_ERROR_EAGAIN { return progress }
            if SSHLoop.isSocketError(rc) { throw loop.makeError(.channelFailed, "closing \(name)", rc: rc) }
            phase = .waitingForClose
            progress = true
        }
        if phase == .waitingForClose {
            let rc = libssh2_channel_wait_closed(channel)
            if rc == LIBSSH2_ERROR_EAGAIN { return progress }
            if SSHLoop.isSocketError(rc) { throw loop.makeError(.channelFailed, "closing \(name)", rc: rc) }
            var end = SSHChannel.End()
            end.exitStatus = libssh2_channel_get_exit_status(channel)
            var signal: UnsafeMutablePointer<CChar>?
            var signalLength = 0
            if libssh2_channel_get_exit_signal(channel, &signal, &signalLength, nil, nil, nil, nil) == 0, let signal {
                end.exitSignal = String(cString: signal)
                end.exitStatus = nil
                free(signal)
            }
            phase = .freeing
            deliverEnd(end)
            progress = true
        }
        if phase == .freeing {
            if !SSHLoop.freeChannel(channel) { return progress }
            phase = .finished
            progress = true
        }
        return progress
    }

    private func flushOutbound(_ loop: SSHLoop) throws -> Bool {
        var progress = false
        condition.lock()
        defer { condition.unlock() }
        while outboundOffset < outbound.count {
            let count = min(outbound.count - outboundOffset, 256 * 1024)
            let rc = outbound.withUnsafeBytes { buffer in
                libssh2_channel_write_ex(channel, 0, buffer.baseAddress!.advanced(by: outboundOffset).assumingMemoryBound(to: CChar.self), count)
            }
            if rc == Int(LIBSSH2_ERROR_EAGAIN) { break }
            if rc < 0 {
                let error = loop.makeError(.channelFailed, "sending on \(name)", rc: Int32(rc))
                if error.code == .disconnected { throw error }
                sendClosedError = error
                remoteEnded = true
                outbound.removeAll()
                outboundOffset = 0
                condition.broadcast()
                return true
            }
            outboundOffset += rc
            progress = true
        }
        if outboundOffset > 0 && outboundOffset == outbound.count {
            outbound.removeAll(keepingCapacity: outbound.capacity <= 1 << 20)
            outboundOffset = 0
            condition.broadcast()
        } else if outboundOffset > 1 << 20 {
            outbound.removeFirst(outboundOffset)
            outboundOffset = 0
            condition.broadcast()
        }
        if eofRequested && !eofSent && outbound.isEmpty {
            let rc = libssh2_channel_send_eof(channel)
            if rc == 0 {
                eofSent = true
                progress = true
            } else if rc != LIBSSH2_ERROR_EAGAIN && SSHLoop.isSocketError(rc) {
                throw loop.makeError(.channelFailed, "sending EOF on \(name)", rc: rc)
            } else if rc != LIBSSH2_ERROR_EAGAIN {
                eofSent = true
            }
        }
        return progress
    }

    private func readAvailable(_ loop: SSHLoop) throws -> Bool {
        var progress = false
        let streams: [SSHChannel.Stream] = readsStderr ? [.stdout, .stderr] : [.stdout]
        condition.lock()
        let deliver = onData
        condition.unlock()
        for stream in streams {
            // Bounded so one busy channel cannot starve the others.
            for _ in 0..<16 {
                let rc = libssh2_channel_read_ex(channel, stream.rawValue, loop.readBuffer.assumingMemoryBound(to: CChar.self), SSHLoop.readBufferSize)
                if rc > 0 {
                    deliver?(UnsafeRawBufferPointer(start: loop.readBuffer, count: rc), stream)
                    progress = true
                    continue
                }
                if rc == 0 || rc == Int(LIBSSH2_ERROR_EAGAIN) { break }
                let error = loop.makeError(.channelFailed, "reading from \(name)", rc: Int32(rc))
                if error.code == .disconnected { throw error }
                remoteEnded = true
                return true
            }
        }
        if libssh2_channel_eof(channel) == 1 {
            // Everything buffered has been read once read returns 0 after EOF.
            let rc = libssh2_channel_read_ex(channel, 0, loop.readBuffer.assumingMemoryBound(to: CChar.self), SSHLoop.readBufferSize)
            if rc > 0 {
                deliver?(UnsafeRawBufferPointer(start: loop.readBuffer, count: rc), .stdout)
                return true
            }
            if readsStderr {
                let rcErr = libssh2_channel_read_ex(channel, 1, loop.readBuffer.assumingMemoryBound(to: CChar.self), SSHLoop.readBufferSize)
                if rcErr > 0 {
                    deliver?(UnsafeRawBufferPointer(start: loop.readBuffer, count: rcErr), .stderr)
                    return true
                }
            }
            remoteEnded = true
            progress = true
        }
        return progress
    }

    private func deliverEnd(_ end: SSHChannel.End) {
        guard !endDelivered else { return }
        endDelivered = true
        condition.lock()
        if sendClosedError == nil { sendClosedError = end.error ?? SSHError(.closed, "\(name): the channel has ended.") }
        let callback = onEnd
        onEnd = nil
        onData = nil
        condition.broadcast()
        condition.unlock()
        callback?(end)
    }

    /// The connection died: report it and forget the handle (session_free frees it).
    func abort(_ error: SSHError) {
        var end = SSHChannel.End()
        end.error = error
        condition.lock()
        sendClosedError = error
        condition.unlock()
        deliverEnd(end)
        phase = .finished
    }
}
