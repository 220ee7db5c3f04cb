@testable import AWS
import Foundation
import Testing

/// The namespace remembered per access key: a hit saves run-tests and launch their
/// GetCallerIdentity; a miss (another key, another endpoint, a day later) asks STS again.
@Suite("identity cache")
struct IdentityCacheTests {
    @Test("a recorded namespace is found for the same key and endpoint only, and only for a day")
    func hitsAndMisses() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = IdentityCache(state: AWSStateStore(stateDirectory: directory))
        let key = IdentityCache.key(accessKeyId: "AKIAEXAMPLE", endpoint: "https://sts.us-east-1.amazonaws.com")
        let now = Date()
        #expect(cache.namespace(for: key, now: now) == nil)
        cache.save("alice", for: key, now: now)
        #expect(cache.namespace(for: key, now: now.addingTimeInterval(3600)) == "alice")
        #expect(cache.namespace(for: key, now: now.addingTimeInterval(25 * 3600)) == nil)
        #expect(cache.namespace(for: IdentityCache.key(accessKeyId: "AKIAOTHER", endpoint: "https://sts.us-east-1.amazonaws.com"), now: now) == nil)
        #expect(cache.namespace(for: IdentityCache.key(accessKeyId: "AKIAEXAMPLE", endpoint: "http://127.0.0.1:5000"), now: now) == nil)
        // Only digests are stored, never the key id, and only the owner can read the file.
        let text = try String(contentsOf: cache.file, encoding: .utf8)
        #expect(!text.contains("AKIAEXAMPLE") && text.contains("alice"))
        let mode = try FileManager.default.attributesOfItem(atPath: cache.file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("a damaged cache file is a miss, and the next answer replaces it")
    func damagedFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = IdentityCache(state: AWSStateStore(stateDirectory: directory))
        try FileManager.default.createDirectory(at: cache.file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("{not json".utf8).write(to: cache.file)
        #expect(cache.namespace(for: "k") == nil)
        cache.save("bob", for: "k")
        #expect(cache.namespace(for: "k") == "bob")
    }
}
