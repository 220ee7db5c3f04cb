import ArgumentParser
import Foundation
import SSH

/// `automation get REMOTE LOCAL`: download a file over SFTP from one ssh:// target.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Download a file from an ssh:// target over SFTP."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Argument(help: "The remote path (relative paths start in the login directory).") var remote: String
    @Argument(help: "The local file to write (replaced atomically).") var local: String

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            let endpoints = try targets.sshEndpoints(for: "get")
            guard endpoints.count == 1 else { throw UsageError("get takes exactly one --target") }
            let session = try await SSHSession.connect(to: endpoints[0], configuration: targets.sshConfiguration(state: global.state), logger: logger)
            defer { session.close() }
            let sftp = try await session.openSFTP()
            let progress = TransferProgress(label: "\(endpoints[0]):\(remote)")
            try await sftp.download(from: remote, to: local) { progress.update($0, $1) }
            progress.finish()
            return 0
        }
    }
}
