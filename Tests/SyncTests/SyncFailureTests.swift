import AgentProtocol
import Foundation
import Glibc
import Testing
import TestSupport
@testable import AutomationKit
@testable import SyncCore

/// Disk full and a lost connection in the middle: every file on the target is
/// the old or the new version, and the next sync repairs the rest.
@Suite("sync failures in the middle", .serialized, .timeLimit(.minutes(10)))
struct SyncFailureTests {
    static func versions(_ count: Int, size: Int, tag: UInt8) -> [[UInt8]] {
        (0..<count).map { i in (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) ^ tag } }
    }

    /// Every file of `dst` is one of its two versions (never a mix), and no temporary file is visible to a scan.
    static func expectOldOrNew(_ dst: TreeFixture, _ old: [[UInt8]], _ new: [[UInt8]]) throws {
        for i in old.indices {
            let content = FileIO.readWhole(dst.root + "/f\(i)", limit: 1 << 24)
            #expect(content == old[i] || content == new[i], "f\(i) is neither version (\(content?.count ?? -1) bytes)")
        }
    }

    @Test("disk full: a clear no_space error, files old or new, the next sync repairs", .requires(SyncHarness.mounts))
    func diskFull() async throws {
        let src = try TreeFixture.temporary("src"), mountPoint = try TreeFixture.temporary("tmpfs")
        defer { src.remove(); mountPoint.remove() }
        let mounted = try SyncHarness.run(["/bin/mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint.root])
        try #require(mounted.status == 0, "mount tmpfs: \(mounted.stderr)")
        // Lazy: the agent may still be exiting with a descriptor open below the mount point.
        defer { _ = try? SyncHarness.run(["/bin/umount", "-l", mountPoint.root]) }
        let dest = mountPoint.root + "/dest"
        let old = Self.versions(6, size: 50_000, tag: 0), new = Self.versions(6, size: 300_000, tag: 0x55)
        for i in old.indices { src.write(Array("f\(i)".utf8), old[i]) }
        let client = try await SyncHarness.connect()
        defer { client.close() }
        try await SyncHarness.sync(client, src.root, to: dest, small: true)
        for i in new.indices { src.write(Array("f\(i)".utf8), new[i]) }
        do {
            try await SyncHarness.sync(client, src.root, to: dest, small: true)
            Issue.record("1.8 MB into a 1 MB tmpfs succeeded")
        } catch let error as AgentClientError {
            #expect(error.remote?.code == .noSpace, "\(error)")
            #expect(error.message.contains(dest), "the message names the path: \(error.message)")
        }
        try Self.expectOldOrNew(TreeFixture(root: dest), old, new)
        let grown = try SyncHarness.run(["/bin/mount", "-o", "remount,size=8m", mountPoint.root])
        try #require(grown.status == 0, "remount: \(grown.stderr)")
        try await SyncHarness.sync(client, src.root, to: dest, small: true)
        #expect(try TreeFixture(root: dest).hashWalk() == src.hashWalk())
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dest).filter { $0.hasPrefix(".automation-sync-") }
            + FileManager.default.contentsOfDirectory(atPath: dest + "/.automation-sync").filter { $0 != "README" }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
    }

    @Test("a connection lost mid-sync leaves old-or-new files; the next sync repairs")
    func interrupted() async throws {
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        let old = Self.versions(120, size: 20_000, tag: 0), new = Self.versions(120, size: 24_000, tag: 0x33)
        for i in old.indices { src.write(Array("f\(i)".utf8), old[i]) }
        let first = try await SyncHarness.connect()
        try await SyncHarness.sync(first, src.root, to: dst.root)
        first.close()
        for i in new.indices { src.write(Array("f\(i)".utf8), new[i]) }

        let client = try await SyncHarness.connect()
        let selection = try SourceSelection.resolve(source: src.root, cwd: "/", includeVCS: false)
        let tree = try await SourceTree.scan(selection, excludes: ExcludeRules([]), cacheDirectory: nil)
        var sync = TargetSync(target: "local", client: client, destination: dst.root)
        sync.limits = BatchBuilder.Limits(batchBytes: 64 * 1024, smallFile: 8 * 1024, chunk: 8 * 1024)
        sync.maxInFlight = 2
        let cut = Cut()
        do {
            _ = try await sync.run(tree) { progress in
                if progress.bytesDone > 600_000 && cut.once() { client.close() }
            }
            Issue.record("the sync finished although its connection was closed")
        } catch let error as AgentClientError {
            #expect(error.isInfrastructure, "\(error)")
        }
        try Self.expectOldOrNew(dst, old, new)
        let again = try await SyncHarness.connect()
        defer { again.close() }
        let repair = try await SyncHarness.sync(again, src.root, to: dst.root)
        #expect(repair.filesSent > 0 && repair.filesSent < 120, "only the missing part is sent again: \(repair.line)")
        #expect(try dst.hashWalk() == src.hashWalk())
    }
}

final class Cut: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func once() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}

@Suite("the agent never reports an unfinished sync as done")
struct UnfinishedSyncTests {
    @Test("a sync that ends with a large file half-sent is an error; the file keeps its old content and no temporary file stays")
    func saveWithAnUnfinishedUpload() throws {
        let dst = try TreeFixture.temporary("dst")
        defer { dst.remove() }
        let path = try #require(SyncPath("big.bin"))
        FileIO.writeAtomically(dst.root + "/big.bin", Array("old".utf8))
        let destination = try SyncDestination.begin(dst.root, home: nil, cacheDirectory: nil, adopt: true, waitNs: 0)
        _ = try destination.scan()
        // The first of two pieces, then the batch that ends the sync: the second piece never came.
        let first = SyncAction.chunk(.init(path: path, mode: 0o644, upload: 7, offset: 0, totalSize: 8, finalDigest: nil, data: Array("1234".utf8)))
        #expect(throws: SyncError.self) { try destination.apply([first], save: true) }
        #expect(FileIO.readWhole(dst.root + "/big.bin", limit: 100) == Array("old".utf8))
        let names = try FileManager.default.contentsOfDirectory(atPath: dst.root).sorted()
        #expect(names == [".automation-sync", "big.bin"], "\(names)")
        let marker = try FileManager.default.contentsOfDirectory(atPath: dst.root + "/.automation-sync")
        #expect(marker == ["README"], "the private directory is gone: \(marker)")
        #expect(destination.ended)
    }
}
