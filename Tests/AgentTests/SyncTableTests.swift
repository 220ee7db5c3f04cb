import AgentProtocol
import Foundation
import Glibc
import Testing
@testable import AgentCore

/// The syncs a session holds (issue 21, findings 2 and 7): one destination
/// per sync for all of its requests, released when the session ends.
@Suite("sync state per session")
struct SyncTableTests {
    /// A scratch directory for a test's destinations and the agent's cache files
    /// (never the real ~/.cache/automation/sync).
    static func scratch(_ label: String) throws -> (dir: String, cache: String) {
        let dir = NSTemporaryDirectory() + "sync-table-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/cache", withIntermediateDirectories: true)
        return (dir, dir + "/cache")
    }

    static func scan(_ root: String, _ syncs: SyncTable, cache: String?, waitMs: Int? = nil, inlineLimit: Int? = nil) -> Result<ReplyBody, ProtocolError> {
        SyncOperations.scan(SyncScanParams(root: root, inlineLimit: inlineLimit, waitMs: waitMs), syncs: syncs, home: nil, cacheDirectory: cache)
    }

    @Test("without HOME the home guard takes the agent user's home from /etc/passwd")
    func homeFromPasswd() throws {
        let (work, _) = try Self.scratch("passwd")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let passwd = work + "/passwd"
        let lines = "root:x:0:0:root:/root:/bin/sh\nsvc:x:1000:1000::/srv/home/svc:/bin/sh\nodd:x:1001:1001::relative:/bin/sh\nshort:x:1002\n"
        FileManager.default.createFile(atPath: passwd, contents: Data(lines.utf8))
        #expect(SyncOperations.passwdHome(uid: 1000, file: passwd) == "/srv/home/svc")
        #expect(SyncOperations.passwdHome(uid: 0, file: passwd) == "/root")
        #expect(SyncOperations.passwdHome(uid: 1001, file: passwd) == nil, "a home that is not absolute guards nothing")
        #expect(SyncOperations.passwdHome(uid: 1002, file: passwd) == nil)
        #expect(SyncOperations.passwdHome(uid: 4242, file: passwd) == nil)
        // The agent's own: whatever HOME says, else this file's entry for its uid.
        #expect(SyncOperations.home != nil)
    }

    @Test("a scan of a directory this session already holds under another spelling (a linked parent) replaces that sync at once")
    func aliasedPathDoesNotBlockTheSession() throws {
        let (work, cache) = try Self.scratch("alias")
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work + "/a/dest", withIntermediateDirectories: true)
        #expect(symlink(work + "/a", work + "/b") == 0)
        let session = SyncTable()
        guard case .success(.syncScan(let first)) = Self.scan(work + "/a/dest", session, cache: cache) else {
            Issue.record("the first scan failed")
            return
        }
        // Bounded: 2 s. Before, the session waited for its own lock and got `busy`.
        guard case .success(.syncScan(let second)) = Self.scan(work + "/b/dest", session, cache: cache, waitMs: 2000) else {
            Issue.record("the scan through the link waited for the session's own sync of the same directory")
            return
        }
        #expect(first.sync != second.sync)
        let stale = SyncApplyParams(root: work + "/a/dest", batch: Data("ASB1".utf8), save: true, sync: first.sync)
        guard case .failure(let replaced) = SyncOperations.apply(stale, syncs: session) else {
            Issue.record("the replaced sync still applied")
            return
        }
        #expect(replaced.code == .unknownSync)
        session.endAll()
    }

    @Test("a scan that fails after the sync began (no room for a large manifest, an unwritable manifest file) leaves DEST free")
    func failedScanReleasesTheDestination() throws {
        let (work, cache) = try Self.scratch("leak")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let dest = work + "/dest"
        FileManager.default.createFile(atPath: work + "/not-a-directory", contents: Data())
        let session = SyncTable(), other = SyncTable()
        // inlineLimit 0: the manifest must go to a file, and there is no place (nil) or no valid place for it.
        for place in [nil, work + "/not-a-directory"] as [String?] {
            guard case .failure(let failed) = Self.scan(dest, session, cache: place, inlineLimit: 0) else {
                Issue.record("the scan succeeded without a place for its manifest (\(place ?? "nil"))")
                return
            }
            #expect(failed.code == .tooLarge || failed.code == .ioError, "\(failed)")
            guard case .success(.syncScan(let next)) = Self.scan(dest, other, cache: cache, waitMs: 0) else {
                Issue.record("DEST stayed locked after the failed scan (\(place ?? "nil"))")
                return
            }
            guard case .success = SyncOperations.apply(SyncApplyParams(root: dest, batch: Data("ASB1".utf8), save: true, sync: next.sync), syncs: other) else {
                Issue.record("the last (empty) batch failed")
                return
            }
        }
    }

    @Test("another session waits for a destination a session's sync holds; the session's end releases it and forgets its syncs")
    func sessionEndReleases() throws {
        let (work, cache) = try Self.scratch("end")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let dir = work + "/dest"
        let first = SyncTable(), second = SyncTable()
        guard case .success(.syncScan(let scan)) = Self.scan(dir, first, cache: cache) else {
            Issue.record("the first scan failed")
            return
        }
        let id = try #require(scan.sync)
        guard case .failure(let busy) = Self.scan(dir, second, cache: cache, waitMs: 20) else {
            Issue.record("a second session's scan went through while the first sync held the destination")
            return
        }
        #expect(busy.code == .busy && busy.message.contains(dir), "\(busy)")
        first.endAll()
        let empty = SyncApplyParams(root: dir, batch: Data("ASB1".utf8), save: true, sync: id)
        guard case .failure(let unknown) = SyncOperations.apply(empty, syncs: first) else {
            Issue.record("an ended sync applied a batch")
            return
        }
        #expect(unknown.code == .unknownSync)
        guard case .success(.syncScan(let again)) = Self.scan(dir, second, cache: cache) else {
            Issue.record("the destination stayed locked after the session ended")
            return
        }
        guard case .success = SyncOperations.apply(SyncApplyParams(root: dir, batch: Data("ASB1".utf8), save: true, sync: again.sync), syncs: second) else {
            Issue.record("the last (empty) batch failed")
            return
        }
    }
}
