import Foundation
import SSH

/// Which agent binaries this state directory has put on which hosts
/// (`<state>/ssh/deployed`, one "user@host:port sha256" per line). Only a
/// hint that lets a redeploy skip the SFTP check; the remote file decides.
struct DeployRecords {
    let path: String

    init(stateDirectory: String) { path = stateDirectory + "/ssh/deployed" }

    private static func key(_ endpoint: SSHEndpoint) -> String { "\(endpoint.user)@\(endpoint.host):\(endpoint.port)" }

    func contains(_ endpoint: SSHEndpoint, digest: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains(Substring("\(Self.key(endpoint)) \(digest)"))
    }

    func add(_ endpoint: SSHEndpoint, digest: String) {
        let key = Self.key(endpoint)
        var lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        lines.removeAll { $0.hasPrefix(key + " ") }
        lines.append("\(key) \(digest)")
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = path + ".\(getpid())"
        if FileManager.default.createFile(atPath: temporary, contents: Data((lines.suffix(500).joined(separator: "\n") + "\n").utf8)) {
            rename(temporary, path)
        }
    }
}
