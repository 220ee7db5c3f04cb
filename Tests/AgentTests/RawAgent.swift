import AgentProtocol
import Foundation
import Glibc
import TestSupport

/// The agent driven line by line, without the client: for malformed input.
final class RawAgent {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer: [UInt8] = []

    /// `launcher` runs first and execs the agent (with the agent's path and
    /// `arguments` appended); `environment` entries are added to the agent's.
    init(arguments: [String] = ["--stdio"], launcher: [String] = [], environment: [String: String] = [:]) throws {
        signal(SIGPIPE, SIG_IGN)
        let command = launcher + [try BuiltProducts.agent()] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    func send(_ text: String) { send(Array(text.utf8) + [0x0A]) }

    func send(_ bytes: [UInt8]) {
        input.fileHandleForWriting.write(Data(bytes))
    }

    /// Writes `text` and a newline with write(2): false once the agent is
    /// gone, where `send` (FileHandle.write) would trap on EPIPE. For a
    /// writer on a thread of its own that may outlive a failed test.
    func write(line text: String) -> Bool {
        let bytes = Array(text.utf8) + [0x0A]
        let fd = input.fileHandleForWriting.fileDescriptor
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// Lets one write of up to `bytes` land in the agent's stdin at once
    /// (F_SETPIPE_SZ), so the agent sees a burst as a single read.
    func enlargeInputPipe(to bytes: Int32 = 1 << 20) -> Bool {
        fcntl(input.fileHandleForWriting.fileDescriptor, 1031 /* F_SETPIPE_SZ */, bytes) >= bytes
    }

    func closeInput() {
        try? input.fileHandleForWriting.close()
    }

    /// The next line as a JSON object, or nil after `timeout` seconds or at EOF.
    func receive(timeout: Double = 10) -> [String: Any]? {
        guard let line = receiveLine(timeout: timeout) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
    }

    func receiveLine(timeout: Double = 10) -> [UInt8]? {
        let fd = output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(timeout)
        // Only new bytes are searched: replies of a megabyte or more arrive in many reads.
        var searched = 0
        var chunk: [UInt8] = []
        while true {
            if let newline = buffer[searched...].firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                return line
            }
            searched = buffer.count
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(remaining * 1000)) > 0 else { return nil }
            if chunk.isEmpty { chunk = [UInt8](repeating: 0, count: 1 << 20) }
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffer += chunk[..<n]
        }
    }

    /// Streams lines without keeping them: `body` gets each line's first
    /// 128 bytes and its length, and returns false to stop. For millions of
    /// bytes of replies, which `receiveLine` would copy around. False on
    /// timeout (no byte for `timeout` seconds) or EOF.
    func scanLines(timeout: Double = 60, _ body: (_ head: [UInt8], _ length: Int) -> Bool) -> Bool {
        let fd = output.fileHandleForReading.fileDescriptor
        var head: [UInt8] = []
        var length = 0
        var chunk = buffer
        buffer = []
        var storage = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            var start = 0
            let stop: Int? = chunk.withUnsafeBufferPointer { raw -> Int? in
                while start < raw.count {
                    let rest = raw.count - start
                    guard let found = memchr(raw.baseAddress! + start, 0x0A, rest) else {
                        if head.count < 128 { head += raw[start..<min(raw.count, start + 128 - head.count)] }
                        length += rest
                        start = raw.count
                        return nil
                    }
                    let end = raw.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    if head.count < 128 { head += raw[start..<min(end, start + 128 - head.count)] }
                    length += end - start
                    start = end + 1
                    let more = body(head, length)
                    head = []
                    length = 0
                    if !more { return start }
                }
                return nil
            }
            if let stop {
                buffer = Array(chunk[stop...])
                return true
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(timeout * 1000)) > 0 else { return false }
            let n = read(fd, &storage, storage.count)
            if n <= 0 { return false }
            chunk = Array(storage[..<n])
        }
    }

    /// The next reply (skipping events).
    func reply(timeout: Double = 10) -> [String: Any]? {
        while let message = receive(timeout: timeout) {
            if message["type"] as? String == "reply" { return message }
        }
        return nil
    }

    /// Sends a request and returns its reply.
    func request(_ id: UInt64, _ op: String, _ params: String) -> [String: Any]? {
        send(#"{"type":"request","id":\#(id),"op":"\#(op)","params":\#(params)}"#)
        return reply()
    }

    func hello() -> [String: Any]? {
        send(#"{"type":"hello","version":\#(ProtocolConstants.version),"client":"test"}"#)
        return receive()
    }
}

extension Dictionary where Key == String, Value == Any {
    var errorCode: String? { (self["error"] as? [String: Any])?["code"] as? String }
    var id: UInt64? { (self["id"] as? NSNumber)?.uint64Value }
}
