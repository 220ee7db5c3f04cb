import Foundation

/// Which namespace each set of credentials resolved to, so that a command run again with
/// the same access key does not ask STS who it is every time (one GetCallerIdentity per
/// key and day instead of one per command). Keys are stored as SHA-256 digests only.
public struct IdentityCache: Sendable {
    struct Entry: Codable, Equatable {
        var namespace: String
        var verifiedAt: Date
    }

    let file: URL
    /// How long an answer is trusted, as long as the account record (docs/aws.md).
    public var ttl: TimeInterval

    public init(state: AWSStateStore, ttl: TimeInterval = 24 * 3600) {
        file = state.root.appendingPathComponent("identities.json")
        self.ttl = ttl
    }

    static func key(accessKeyId: String, endpoint: String) -> String {
        Digest.hex(Digest.sha256(accessKeyId + "\n" + endpoint))
    }

    func load() -> [String: Entry] {
        guard let data = try? Data(contentsOf: file) else { return [:] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode([String: Entry].self, from: data)) ?? [:]
    }

    /// The namespace recorded for these credentials at this STS endpoint, if recent enough.
    func namespace(for key: String, now: Date = Date()) -> String? {
        guard let entry = load()[key], now.timeIntervalSince(entry.verifiedAt) < ttl, entry.verifiedAt <= now.addingTimeInterval(60),
              Ownership.isValidNamespace(entry.namespace) else { return nil }
        return entry.namespace
    }

    /// Records an answer and drops the stale ones; a cache that cannot be written costs a call next time, nothing more.
    func save(_ namespace: String, for key: String, now: Date = Date()) {
        var entries = load().filter { now.timeIntervalSince($0.value.verifiedAt) < ttl }
        entries[key] = Entry(namespace: namespace, verifiedAt: now)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(entries) else { return }
        try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let temp = file.deletingLastPathComponent().appendingPathComponent(".identities.json.\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temp.path, contents: data, attributes: [.posixPermissions: 0o600]) else { return }
        if rename(temp.path, file.path) != 0 { try? FileManager.default.removeItem(at: temp) }
    }
}

extension AWSAutomation {
    /// The namespace given, else the one recorded for these credentials within the last day,
    /// else one derived from the caller's identity (one STS call, then recorded).
    public static func resolveNamespace(_ explicit: String?, client: AWSClient, cache: IdentityCache) async throws -> String {
        if let explicit { return explicit }
        let credentials = try await client.credentials.credentials()
        let key = IdentityCache.key(accessKeyId: credentials.accessKeyId, endpoint: client.endpoints.endpoint(for: .sts, region: client.region))
        if let namespace = cache.namespace(for: key) { return namespace }
        let namespace = try await resolveNamespace(nil, client: client)
        cache.save(namespace, for: key)
        return namespace
    }
}
