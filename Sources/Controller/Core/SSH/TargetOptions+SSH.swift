import Foundation
import Logging
import SSH

extension TargetOptions {
    /// The ssh:// targets given, as endpoints; anything else is a usage error
    /// for commands that only make sense over SSH (put, get, check-target).
    func sshEndpoints(for command: String) throws -> [SSHEndpoint] {
        guard !targetTexts.isEmpty else { throw UsageError("\(command) needs --target ssh://[user@]host[:port]") }
        return try specs().map { spec in
            guard case .ssh(let address) = spec else {
                throw UsageError("\(command) works on ssh:// targets only, not '\(spec)'")
            }
            return try SSHTargets.endpoint(address)
        }
    }

    /// Connection settings from the SSH flags (the agent binary is not needed).
    func sshConfiguration(state: StatePaths) -> SSHConfiguration {
        SSHTargetConfiguration(options: ssh, agentBinary: agentBinary ?? "", state: state).ssh
    }
}

/// A one-line progress display on stderr, only when stderr is a terminal.
final class TransferProgress: @unchecked Sendable {
    private let label: String
    private let start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let enabled = isatty(2) == 1
    private let lock = NSLock()

    init(label: String) { self.label = label }

    func update(_ done: UInt64, _ total: UInt64) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        guard now - lastDraw >= .milliseconds(100) || done == total else { return }
        lastDraw = now
        let seconds = max(0.001, Double((now - start).microseconds) / 1e6)
        let percent = total == 0 ? 100 : Int(done * 100 / total)
        let line = String(format: "\r%@ %3d%% %.1f / %.1f MB  %.1f MB/s", label, percent,
                          Double(done) / 1e6, Double(total) / 1e6, Double(done) / 1e6 / seconds)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
