import AWS
import Foundation
import SSH

/// The SHA-256 of the agent binary, which names it on the remote host.
/// Cached in the state directory by path, size and modification time, so a
/// cached redeploy does not re-read a multi-megabyte file.
enum AgentBinaryHash {
    static func sha256(of path: String, stateDirectory: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw UsageError("cannot read the agent binary \(path): \(String(cString: strerror(errno)))")
        }
        let key = "\(path)\t\(info.st_size)\t\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        let cachePath = stateDirectory + "/cache/agent-sha256"
        if let cached = try? String(contentsOfFile: cachePath, encoding: .utf8) {
            for line in cached.split(separator: "\n") where line.hasPrefix(key + "\t") {
                return String(line.dropFirst(key.count + 1))
            }
        }
        let digest = try hashFile(path)
        try? FileManager.default.createDirectory(atPath: stateDirectory + "/cache", withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let kept = ((try? String(contentsOfFile: cachePath, encoding: .utf8)) ?? "")
            .split(separator: "\n").filter { !$0.hasPrefix(path + "\t") }.suffix(20)
        let text = (kept + [Substring(key + "\t" + digest)]).joined(separator: "\n") + "\n"
        let temporary = cachePath + ".\(getpid())"
        if FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) {
            rename(temporary, cachePath)
        }
        return digest
    }

    /// libcrypto's SHA-256 (through the AWS module's `Digest`): the plain
    /// Swift one in the SSH module is fine for host keys but slow in debug
    /// builds for a binary of several megabytes.
    static func hashFile(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("cannot read the agent binary \(path)")
        }
        return AWS.Digest.sha256([UInt8](data)).hexString
    }
}
