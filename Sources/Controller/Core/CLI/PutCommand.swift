import ArgumentParser
import Foundation
import SSH

/// `automation put LOCAL REMOTE`: upload a file over SFTP to each ssh:// target.
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Upload a file to ssh:// targets over SFTP (atomically: temporary name, then rename)."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Argument(help: "The local file.") var local: String
    @Argument(help: "The remote path (relative paths start in the login directory).") var remote: String

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            var info = stat()
            guard stat(local, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                throw UsageError("\(local) is not a readable regular file")
            }
            let configuration = targets.sshConfiguration(state: global.state)
            for endpoint in try targets.sshEndpoints(for: "put") {
                let session = try await SSHSession.connect(to: endpoint, configuration: configuration, logger: logger)
                defer { session.close() }
                let sftp = try await session.openSFTP()
                let progress = TransferProgress(label: "\(endpoint):\(remote)")
                let temporary = remote + ".automation-put-\(UInt32.random(in: 0...UInt32.max))"
                do {
                    try await sftp.upload(from: local, to: temporary, mode: Int(info.st_mode & 0o7777)) { progress.update($0, $1) }
                    if try await sftp.stat(remote) != nil { try await sftp.remove(remote) }
                    try await sftp.rename(temporary, to: remote)
                } catch {
                    try? await sftp.remove(temporary)
                    throw error
                }
                progress.finish()
            }
            return 0
        }
    }
}
