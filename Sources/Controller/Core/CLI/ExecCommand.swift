import AgentProtocol
import ArgumentParser
import Foundation
import Logging

/// `automation exec`: run one command on each target, streaming its output.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command on targets, streaming its stdout and stderr.",
        discussion: """
            The command is an argv array: nothing is interpreted by a shell unless you run one \
            (automation exec -- sh -c '…'). Exits with the command's status (128+N for signal N); \
            with several targets, the first non-zero status in target order. 255 means the tool \
            itself failed (the message says where); Ctrl-C stops the remote command and exits 130.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Option(help: "Absolute working directory on the target.")
    var cwd: String?

    @Option(name: .customLong("env"), help: ArgumentHelp("Set a variable for the command; repeatable.", valueName: "NAME=VALUE"))
    var env: [String] = []

    @Option(parsing: .unconditional, help: "Stop the command after this many seconds (SIGTERM to its process group, then SIGKILL).")
    var timeout: Double?

    @Option(help: ArgumentHelp("Send this file's content as the command's stdin ('-' for this process's stdin).", valueName: "file"))
    var stdin: String?

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    mutating func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command to run after --") }
        for item in env where !item.contains("=") || item.hasPrefix("=") {
            throw ValidationError("--env takes NAME=VALUE, got '\(item)'")
        }
        try DurationOption.check(timeout, flag: "--timeout")
    }

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let specs = try targets.specs()
            var params = ExecParams(argv: command)
            if !env.isEmpty {
                params.env = Dictionary(env.map { item in
                    let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    return (String(parts[0]), String(parts[1]))
                }, uniquingKeysWith: { _, last in last })
            }
            params.cwd = cwd
            params.timeoutMs = timeout.map(DurationOption.milliseconds)
            let stdinSource = StdinSource.parse(stdin, targets: specs.count)
            stdinSource.prepare(&params)
            if case .file = stdinSource { try stdinSource.open()?.close() }
            let interrupts = InterruptMonitor()
            defer { interrupts.stop() }
            let targetOptions = targets
            let state = global.state
            let request = params
            let statuses = try await withThrowingTaskGroup(of: (Int, Int32).self) { group in
                for (index, spec) in specs.enumerated() {
                    let prefix = specs.count > 1 ? "[\(spec)] " : nil
                    group.addTask {
                        let client = try await Targets.connect(spec, options: targetOptions, state: state, logger: logger)
                        defer { client.close() }
                        // A stopped host or a partition never closes the session: without this, exec would wait forever.
                        let heartbeat = TargetHeartbeat(client: client, label: "\(spec)", lostAfter: TargetHeartbeat.defaultLostAfter)
                        heartbeat.start { reason in CommandRunner.report("\(spec) lost: \(reason)") }
                        defer { heartbeat.stop() }
                        return (index, try await Self.runOne(client, request, stdin: stdinSource, prefix: prefix, interrupts: interrupts))
                    }
                }
                var statuses = [Int32](repeating: 0, count: specs.count)
                for try await (index, status) in group { statuses[index] = status }
                return statuses
            }
            if interrupts.fired { return ExitCodes.interrupted }
            return statuses.first { $0 != 0 } ?? 0
        }
    }

    private static func runOne(_ client: AgentClient, _ params: ExecParams, stdin: StdinSource, prefix: String?, interrupts: InterruptMonitor) async throws -> Int32 {
        do {
            return try await stream(client, params, stdin: stdin, prefix: prefix, interrupts: interrupts)
        } catch let error as AgentClientError where error.kind == .remote(.commandNotFound) || error.kind == .remote(.spawnFailed) {
            // The shell's conventions: 127 not found, 126 found but not runnable.
            CommandRunner.report("\(prefix ?? "")\(error.message)")
            return error.kind == .remote(.commandNotFound) ? 127 : 126
        }
    }

    private static func stream(_ client: AgentClient, _ params: ExecParams, stdin: StdinSource, prefix: String?, interrupts: InterruptMonitor) async throws -> Int32 {
        let input = try stdin.open()
        let call = try client.exec(params)
        interrupts.onInterrupt { Task { try? await call.cancel() } }
        // Stdin goes in while the output comes out: a process that writes as it
        // reads would otherwise stall on one side.
        let feeder = input.map { handle in Task { try? await StdinSource.feed(handle, into: call) } }
        defer { feeder?.cancel() }
        var out = LinePrefixer(prefix: prefix), err = LinePrefixer(prefix: prefix)
        for try await chunk in call {
            if chunk.stream == .stdout {
                writeAll(1, out.feed(chunk.data))
            } else {
                writeAll(2, err.feed(chunk.data))
            }
        }
        writeAll(1, out.flush())
        writeAll(2, err.flush())
        let result = try await call.result()
        if result.timedOut {
            CommandRunner.report("command timed out after \(Double(params.timeoutMs ?? 0) / 1000) s")
        }
        return result.shellStatus
    }
}

/// Prefixes each output line with the target's name when several targets run at once.
struct LinePrefixer {
    let prefix: [UInt8]?
    private var pending: [UInt8] = []

    init(prefix: String?) { self.prefix = prefix.map { Array($0.utf8) } }

    mutating func feed(_ data: Data) -> [UInt8] {
        guard let prefix else { return Array(data) }
        pending.append(contentsOf: data)
        guard let lastNewline = pending.lastIndex(of: 0x0A) else { return [] }
        var out: [UInt8] = []
        for line in pending[...lastNewline].split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            out += prefix + line + [0x0A]
        }
        pending.removeFirst(lastNewline + 1)
        return out
    }

    mutating func flush() -> [UInt8] {
        guard let prefix, !pending.isEmpty else { return [] }
        defer { pending = [] }
        return prefix + pending + [0x0A]
    }
}
