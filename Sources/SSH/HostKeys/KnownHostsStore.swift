import Foundation

/// A known-hosts file in the controller's state directory (never
/// ~/.ssh/known_hosts). Lines use the OpenSSH format, `host key-type base64`,
/// with `[host]:port` for ports other than 22, so `ssh -o UserKnownHostsFile=`
/// can read the same file.
public struct KnownHostsStore: Sendable {
    /// The file's path.
    public let path: String

    /// Creates a store backed by `path`; the file is created on first write.
    public init(path: String) { self.path = path }

    /// The store at `<stateDirectory>/known_hosts`.
    public init(stateDirectory: String) { self.path = stateDirectory + "/known_hosts" }

    static func hostField(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    /// The keys recorded for a host.
    public func keys(host: String, port: Int) throws -> [SSHHostKey] {
        let field = KnownHostsStore.hostField(host: host, port: port)
        return try lines().compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].split(separator: ",").contains(Substring(field)) else { return nil }
            return SSHHostKey(openSSH: parts[1])
        }
    }

    /// Records a key for a host, keeping any others.
    public func add(host: String, port: Int, key: SSHHostKey) throws {
        var all = try lines()
        all.append("\(KnownHostsStore.hostField(host: host, port: port)) \(key.openSSHString)")
        try write(all)
    }

    /// Makes `key` the only key recorded for a host.
    public func replace(host: String, port: Int, with key: SSHHostKey) throws {
        let field = KnownHostsStore.hostField(host: host, port: port)
        if try keys(host: host, port: port) == [key] { return }
        var all = try lines().filter { line in
            !(line.split(separator: " ", maxSplits: 1).first?.split(separator: ",").contains(Substring(field)) ?? false)
        }
        all.append("\(field) \(key.openSSHString)")
        try write(all)
    }

    private func lines() throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
        } catch {
            throw SSHError(.invalidArgument, "Cannot read the known hosts file \(path): \(error.localizedDescription)")
        }
    }

    private func write(_ lines: [String]) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let temporary = path + ".tmp.\(getpid())"
            let text = lines.joined(separator: "\n") + "\n"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            throw SSHError(.invalidArgument, "Cannot write the known hosts file \(path): \(error)")
        }
    }
}
