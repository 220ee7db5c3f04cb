import Foundation

/// The AWS part of the state directory: the client key, account records, run records and known hosts.
///
/// Layout under `<state>/aws/`:
///   keys/<namespace>/id_ed25519(.pub)            client key, 0600, directory 0700
///   <region>/<namespace>/account.json            what account-level resources exist
///   <region>/<namespace>/runs/<run-id>.json      what each run created
/// and `<state>/known_hosts`, the file `ssh://` targets verify against, gets the
/// pinned host keys of launched instances.
public struct AWSStateStore: Sendable {
    public let root: URL

    public init(stateDirectory: URL) {
        root = stateDirectory.appendingPathComponent("aws", isDirectory: true)
    }

    func directory(region: String, namespace: String) -> URL {
        root.appendingPathComponent(region).appendingPathComponent(namespace)
    }

    /// The state directory's known hosts, shared with `ssh://` targets, so a launched
    /// instance is reached with its pinned key and no `--host-key` flag.
    public var knownHostsFile: URL { root.deletingLastPathComponent().appendingPathComponent("known_hosts") }

    /// Every namespace's client private key in this state directory, for `ssh://` targets
    /// given no `--identity`.
    public func clientKeyPaths() -> [URL] {
        let keys = root.appendingPathComponent("keys")
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: keys.path)) ?? []
        return namespaces.sorted().map { keys.appendingPathComponent($0).appendingPathComponent("id_ed25519") }
            .filter { FileManager.default.isReadableFile(atPath: $0.path) }
    }

    /// Loads the namespace's client key, generating and saving one (0600) on first use.
    public func clientKey(namespace: String) throws -> Ed25519KeyPair {
        let dir = root.appendingPathComponent("keys").appendingPathComponent(namespace)
        let seedFile = dir.appendingPathComponent("id_ed25519.seed")
        if let data = try? Data(contentsOf: seedFile), data.count == 64 {
            return Ed25519KeyPair(seed: Array(data.prefix(32)), publicKey: Array(data.suffix(32)))
        }
        let key = try Ed25519KeyPair.generate()
        try createPrivateDirectory(dir)
        try write(Data(key.openSSHPrivateKey(comment: "hg-automation-\(namespace)").utf8), to: dir.appendingPathComponent("id_ed25519"))
        try write(Data((key.openSSHPublicKey(comment: "hg-automation-\(namespace)") + "\n").utf8), to: dir.appendingPathComponent("id_ed25519.pub"))
        try write(Data(key.seed + key.publicKey), to: seedFile)
        return key
    }

    /// Path of the client private key (OpenSSH format) for the SSH layer.
    public func clientKeyPath(namespace: String) -> URL {
        root.appendingPathComponent("keys").appendingPathComponent(namespace).appendingPathComponent("id_ed25519")
    }

    public func loadAccount(region: String, namespace: String) -> AccountRecord? {
        load(directory(region: region, namespace: namespace).appendingPathComponent("account.json"))
    }

    public func saveAccount(_ record: AccountRecord, region: String, namespace: String) throws {
        try save(record, to: directory(region: region, namespace: namespace).appendingPathComponent("account.json"))
    }

    public func removeAccount(region: String, namespace: String) {
        try? FileManager.default.removeItem(at: directory(region: region, namespace: namespace).appendingPathComponent("account.json"))
    }

    func runsDirectory(region: String, namespace: String) -> URL {
        directory(region: region, namespace: namespace).appendingPathComponent("runs")
    }

    public func saveRun(_ record: RunRecord) throws {
        try save(record, to: runsDirectory(region: record.region, namespace: record.namespace).appendingPathComponent("\(record.runId).json"))
    }

    public func loadRuns(region: String, namespace: String) -> [RunRecord] {
        let dir = runsDirectory(region: region, namespace: namespace)
        let files = (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.pathExtension == "json" }.compactMap { load($0) }.sorted { $0.createdAt < $1.createdAt }
    }

    public func removeRun(_ record: RunRecord) {
        try? FileManager.default.removeItem(at: runsDirectory(region: record.region, namespace: record.namespace).appendingPathComponent("\(record.runId).json"))
    }

    /// Appends `<address> <key>` lines for launched instances.
    public func pinHostKeys(_ entries: [(address: String, publicKey: String)]) throws {
        guard !entries.isEmpty else { return }
        try createPrivateDirectory(root)
        let addresses = Set(entries.map(\.address))
        // An address reused by a new instance must not keep accepting the old instance's key.
        var lines = ((try? String(contentsOf: knownHostsFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            .filter { line in !addresses.contains(String(line.prefix { $0 != " " })) }
        lines += entries.map { "\($0.address) \($0.publicKey)" }
        try write(Data((lines.joined(separator: "\n") + "\n").utf8), to: knownHostsFile)
    }

    private func load<T: Decodable>(_ url: URL) -> T? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(T.self, from: data)
    }

    private func save<T: Encodable>(_ value: T, to url: URL) throws {
        try createPrivateDirectory(url.deletingLastPathComponent())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(try encoder.encode(value), to: url)
    }

    private func createPrivateDirectory(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Atomic write with mode 0600: a temporary file in the same directory, then rename.
    private func write(_ data: Data, to url: URL) throws {
        try createPrivateDirectory(url.deletingLastPathComponent())
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temp.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw AutomationAWSError("cannot write \(temp.path); check that the state directory is writable")
        }
        guard rename(temp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: temp)
            throw AutomationAWSError("cannot rename \(temp.path) to \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}
