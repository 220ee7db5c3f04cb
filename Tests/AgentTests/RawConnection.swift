import AgentProtocol
import AutomationKit
import Foundation
import Glibc

/// One TCP connection to `automation-agent serve`, driven line by line (for
/// resume: the test decides exactly what was received and acknowledged).
/// Waiting sleeps between short polls rather than blocking in poll(2): the
/// cooperative pool has two threads here, and a test that holds one for
/// seconds starves every other suite running beside it.
final class RawConnection {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16) throws {
        fd = try TCPTransport.connectSocket(port: port)
    }

    deinit { drop() }

    func send(_ text: String) {
        let bytes = Array(text.utf8) + [0x0A]
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Closes the socket as a broken network would leave it for the agent: EOF, no bye.
    func drop() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }

    func hello(token: String, resume: (session: String, ack: UInt64)? = nil) async -> [String: Any]? {
        var line = #"{"type":"hello","version":\#(ProtocolConstants.version),"client":"test","token":"\#(token)","resumable":true"#
        if let resume { line += #","resume":{"session":"\#(resume.session)","ack":\#(resume.ack)}"# }
        send(line + "}")
        return await receive()
    }

    /// The next line, raw, or nil after `timeout` seconds or at EOF. What
    /// has arrived is always read first: a test held up past its deadline by
    /// a busy machine still gets the line that is there.
    func receiveLine(timeout: Double = 60) async -> [UInt8]? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                return line
            }
            if fd < 0 { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 0) > 0 {
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return nil }
                buffer += chunk[..<n]
                continue
            }
            if Date() >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// True when the agent closed the connection (EOF, after any lines it
    /// still sent) within `timeout` seconds; false when it is still open.
    func closedByPeer(within timeout: Double = 60) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while fd >= 0 {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 0) > 0 {
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return true }
                continue
            }
            if Date() >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    func receive(timeout: Double = 60) async -> [String: Any]? {
        guard let line = await receiveLine(timeout: timeout) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
    }

    /// Every line up to and including the reply to `id`.
    func lines(untilReplyTo id: UInt64, timeout: Double = 120) async -> [[UInt8]] {
        var lines: [[UInt8]] = []
        while let line = await receiveLine(timeout: timeout) {
            lines.append(line)
            let message = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
            if message?["type"] as? String == "reply", message?.id == id { break }
        }
        return lines
    }
}

extension Array where Element == UInt8 {
    /// The `seq` of an event or reply line.
    var seq: UInt64? {
        ((try? JSONSerialization.jsonObject(with: Data(self))) as? [String: Any]).flatMap { ($0["seq"] as? NSNumber)?.uint64Value }
    }
}
