import AgentProtocol
import Foundation
import Glibc

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
        let command = launcher + [try AgentHarness.binary()] + arguments
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
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                return line
            }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(remaining * 1000)) > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffer += chunk[..<n]
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
