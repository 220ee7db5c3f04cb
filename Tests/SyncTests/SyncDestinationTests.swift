import AgentProtocol
import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
@testable import AutomationKit
@testable import SyncCore

/// Issue 21, findings 1, 2 and 7: a destination reached through a symlink,
/// a parent swapped between the scan and the applies, a populated directory
/// that is not ours, temporary names, two syncs at once, a file changing while sent.
@Suite("sync destinations that cannot surprise", .serialized, .timeLimit(.minutes(10)))
struct SyncDestinationTests {
    /// `count` files in `dir` (created with its parents).
    static func populate(_ dir: String, count: Int = 5) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for i in 0..<count { FileManager.default.createFile(atPath: "\(dir)/precious-\(i)", contents: Data("keep \(i)".utf8)) }
    }

    static func names(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    /// `automation sync SRC --to DEST` to the local target, with its own state directory.
    static func cli(_ work: TreeFixture, _ src: String, to dest: String, _ extra: [String] = [],
                    environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        try SyncHarness.run([try BuiltProducts.automation(), "sync", src, "--to", dest, "--state-path", work.root + "/state"] + extra,
                            environment: environment)
    }

    static func source(_ work: TreeFixture) throws -> String {
        let src = work.root + "/src"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: src + "/only", contents: Data("from the source".utf8))
        return src
    }

    @Test("finding 1: a DEST that is a symlink to a populated directory is refused, with or without --adopt, and nothing there changes")
    func symlinkedDestination() throws {
        let work = try TreeFixture.temporary("dest-link")
        defer { work.remove() }
        let src = try Self.source(work)
        let victim = work.root + "/victim"
        try Self.populate(victim)
        let before = Self.names(victim)
        symlink(victim, work.root + "/link")
        for (dest, extra) in [(work.root + "/link", []), (work.root + "/link/", []), (work.root + "/link", ["--adopt"])] {
            let result = try Self.cli(work, src, to: dest, extra)
            #expect(result.status == 255 && result.stderr.contains("symbolic link"), "\(dest) \(extra): \(result.status) \(result.stdout) \(result.stderr)")
            #expect(Self.names(victim) == before, "\(dest) \(extra)")
        }
    }

    @Test("finding 1: a DEST below a symlinked parent resolves; populated and unmarked it is refused naming it, --adopt takes it over")
    func symlinkedParent() throws {
        let work = try TreeFixture.temporary("parent-link")
        defer { work.remove() }
        let src = try Self.source(work)
        let real = work.root + "/victim/dest"
        try Self.populate(real)
        let before = Self.names(real)
        symlink(work.root + "/victim", work.root + "/plink")
        let refused = try Self.cli(work, src, to: work.root + "/plink/dest")
        #expect(refused.status == 255, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains(real) && refused.stderr.contains("--adopt") && refused.stderr.contains(".automation-sync"), "\(refused.stderr)")
        #expect(Self.names(real) == before)
        let adopted = try Self.cli(work, src, to: work.root + "/plink/dest", ["--adopt"])
        #expect(adopted.status == 0 && adopted.stdout.contains("1 files sent") && adopted.stdout.contains("5 deleted"), "\(adopted.stdout) \(adopted.stderr)")
        #expect(Self.names(real) == [".automation-sync", "only"])
        #expect(adopted.stderr.contains("DEST \(work.root)/plink/dest resolves to \(real)"), "\(adopted.stderr)")
        // Marked now: the next sync needs no --adopt.
        let again = try Self.cli(work, src, to: work.root + "/plink/dest")
        #expect(again.status == 0 && again.stdout.contains("0 files sent"), "\(again.stdout) \(again.stderr)")
    }

    @Test("a new or empty DEST needs no --adopt and gets the marker; a marker that is not a directory is refused")
    func markerRule() throws {
        let work = try TreeFixture.temporary("marker")
        defer { work.remove() }
        let src = try Self.source(work)
        let empty = work.root + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let first = try Self.cli(work, src, to: empty)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Self.names(empty) == [".automation-sync", "only"])
        #expect(Self.names(empty + "/.automation-sync") == ["README"], "no private directory left behind")
        let fresh = try Self.cli(work, src, to: work.root + "/new/deeper/dest")
        #expect(fresh.status == 0 && Self.names(work.root + "/new/deeper/dest") == [".automation-sync", "only"], "\(fresh.stderr)")
        // A marker replaced by a link (to a populated directory) is refused, never followed.
        let victim = work.root + "/victim"
        try Self.populate(victim)
        try FileManager.default.removeItem(atPath: empty + "/.automation-sync")
        symlink(victim, empty + "/.automation-sync")
        let planted = try Self.cli(work, src, to: empty, ["--adopt"])
        #expect(planted.status == 255 && planted.stderr.contains("reserved"), "\(planted.stderr)")
        #expect(Self.names(victim).count == 5)
        // A marker that is a plain file is refused too, and stays as it was.
        try FileManager.default.removeItem(atPath: empty + "/.automation-sync")
        FileManager.default.createFile(atPath: empty + "/.automation-sync", contents: Data("a user file".utf8))
        let plain = try Self.cli(work, src, to: empty, ["--adopt"])
        #expect(plain.status == 255 && plain.stderr.contains("reserved"), "\(plain.stderr)")
        #expect(FileIO.readWhole(empty + "/.automation-sync", limit: 100) == Array("a user file".utf8))
    }

    @Test("finding 1: the home guard applies to the directory itself: HOME reached through a bind mount is refused", .requires(SyncHarness.mounts))
    func homeGuardByIdentity() throws {
        let work = try TreeFixture.temporary("home-guard")
        defer { work.remove() }
        let src = try Self.source(work)
        let home = work.root + "/home"
        try Self.populate(home)
        let before = Self.names(home)
        let mountPoint = work.root + "/mnt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mounted = try SyncHarness.run(["/bin/mount", "--bind", home, mountPoint])
        try #require(mounted.status == 0, "mount --bind: \(mounted.stderr)")
        defer { _ = try? SyncHarness.run(["/bin/umount", "-l", mountPoint]) }
        symlink(work.root, work.root + "/up")
        // The agent's HOME is the stand-in; neither another path to it nor a link through a parent gets past the guard.
        for dest in [mountPoint, work.root + "/up/home"] {
            let result = try Self.cli(work, src, to: dest, ["--adopt"], environment: ["HOME": home])
            #expect(result.status == 255 && result.stderr.contains("home directory"), "\(dest): \(result.stdout) \(result.stderr)")
            #expect(Self.names(home) == before, "\(dest)")
        }
    }

    @Test("finding 2: a parent replaced by a symlink between sync.scan and sync.apply: the applies stay in the directory scanned")
    func parentSwappedAfterScan() async throws {
        let work = try TreeFixture.temporary("swap")
        defer { work.remove() }
        let src = TreeFixture(root: work.root + "/src")
        try FileManager.default.createDirectory(atPath: src.root, withIntermediateDirectories: true)
        src.write(Array("keep".utf8), Array("k".utf8))
        let scanned = work.root + "/base/a/dest", victim = work.root + "/victim/dest"
        let client = try await SyncHarness.connect()
        defer { client.close() }
        // Both directories are ours (marked): only holding the scanned one by descriptor protects the other.
        try await SyncHarness.sync(client, src.root, to: scanned)
        try await SyncHarness.sync(client, src.root, to: victim)
        FileManager.default.createFile(atPath: victim + "/precious", contents: Data("p".utf8))
        let (_, scan) = try await client.syncManifest(root: scanned)
        #expect(scan.sync != nil)
        #expect(rename(work.root + "/base/a", work.root + "/base/a.old") == 0)
        #expect(symlink(work.root + "/victim", work.root + "/base/a") == 0)
        let batch = SyncBatch.encode([.delete(SyncPath("keep")!), .delete(SyncPath("precious")!), .file(SyncPath("new")!, mode: 0o644, data: [1])])
        try await client.syncApply(root: scanned, sync: scan.sync, batch: batch, save: true)
        #expect(Self.names(victim) == [".automation-sync", "keep", "precious"], "the directory the path now leads to is untouched")
        #expect(Self.names(work.root + "/base/a.old/dest") == [".automation-sync", "new"], "the scanned directory got the changes")
    }

    @Test("finding 7: source files named like the old temporary files (.~sync-*) are synced and stay; a no-op sync sends nothing")
    func temporaryLookingNames() async throws {
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        src.mkdir(Array("dir".utf8))
        src.write(Array(".~sync-x".utf8), Array("user file".utf8))
        src.write(Array("dir/.~sync-0123456789ab".utf8), Array("another".utf8))
        src.write(Array(".automation-sync-0123".utf8), Array("and another".utf8))
        src.write(Array("plain".utf8), Array("plain".utf8))
        let client = try await SyncHarness.connect()
        defer { client.close() }
        let first = try await SyncHarness.sync(client, src.root, to: dst.root)
        #expect(first.filesSent == 4, "\(first.line)")
        #expect(FileIO.readWhole(dst.root + "/.~sync-x", limit: 100) == Array("user file".utf8))
        #expect(FileIO.readWhole(dst.root + "/dir/.~sync-0123456789ab", limit: 100) == Array("another".utf8))
        let again = try await SyncHarness.sync(client, src.root, to: dst.root)
        #expect(again.filesSent == 0 && again.deleted == 0, "DEST files of that name are user content, kept by the scan: \(again.line)")
        #expect(FileIO.readWhole(dst.root + "/.~sync-x", limit: 100) == Array("user file".utf8))
    }

    @Test("finding 7: one sync per DEST for the whole sync, within one agent process (across agents: twoSyncsOneDestination)")
    func lockCoversTheWholeSync() async throws {
        let dst = try TreeFixture.temporary("dst")
        defer { dst.remove() }
        // In one process: the second waits for the first to end, not for its current request.
        let first = try SyncDestination.begin(dst.root, home: nil, cacheDirectory: nil, adopt: false, waitNs: 0)
        _ = try first.scan()
        do {
            let second = try SyncDestination.begin(dst.root, home: nil, cacheDirectory: nil, adopt: false, waitNs: 50_000_000)
            second.end()
            Issue.record("a second sync began while the first held DEST")
        } catch {
            #expect(error.code == .busy && error.message.contains(dst.root), "\(error)")
        }
        first.end()
        let second = try SyncDestination.begin(dst.root, home: nil, cacheDirectory: nil, adopt: false, waitNs: 0)
        second.end()
    }

    @Test("finding 7: two syncs to one DEST with a large file: the second waits for the first, both succeed, counts are right")
    func twoSyncsOneDestination() async throws {
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        var rng = SplitMix64(seed: 21)
        src.write(Array("big.bin".utf8), (0..<(3 * 1024 * 1024 + 17)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        src.write(Array("small".utf8), Array("s".utf8))
        let a = try await SyncHarness.connect(), b = try await SyncHarness.connect()
        defer { a.close(); b.close() }
        let selection = try SourceSelection.resolve(source: src.root, cwd: "/", includeVCS: false)
        let tree = try await SourceTree.scan(selection, excludes: ExcludeRules([]), cacheDirectory: nil)
        let syncA = TargetSync(target: "a", client: a, destination: dst.root)
        var syncB = TargetSync(target: "b", client: b, destination: dst.root)
        let waited = Mutex<[String]>([])
        syncB.onWaiting = { message in waited.withLock { $0.append(message) } }
        let (remote, scan) = try await syncA.begin()
        let second = Task { [syncB] in try await syncB.run(tree) }
        // Bounded: B says it waits while A holds DEST between its scan and its applies.
        for _ in 0..<600 where waited.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(waited.withLock { $0.first?.contains("waiting for another sync to \(dst.root) to finish") } == true)
        let one = try await syncA.finish(tree, remote: remote, scan: scan)
        let two = try await second.value
        #expect(one.filesSent == 2 && two.filesSent == 0 && two.deleted == 0, "\(one.line) / \(two.line)")
        #expect(try dst.hashWalk() == src.hashWalk())
        // Both started at once: one sends everything, the other nothing, neither fails.
        src.write(Array("big.bin".utf8), (0..<(2 * 1024 * 1024 + 5)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        src.write(Array("small".utf8), Array("t".utf8))
        let changed = try await SourceTree.scan(selection, excludes: ExcludeRules([]), cacheDirectory: nil)
        async let x = TargetSync(target: "a", client: a, destination: dst.root).run(changed)
        async let y = TargetSync(target: "b", client: b, destination: dst.root).run(changed)
        let both = try await [x, y]
        #expect(both.map(\.filesSent).sorted() == [0, 2], "\(both.map(\.line))")
        #expect(try dst.hashWalk() == src.hashWalk())
    }

    @Test("finding 7: a large file changed while it is sent is sent again and written whole; the sync succeeds")
    func changedWhileSent() async throws {
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        src.write(Array("big".utf8), Array(repeating: 1, count: 60_000))
        let client = try await SyncHarness.connect()
        defer { client.close() }
        let selection = try SourceSelection.resolve(source: src.root, cwd: "/", includeVCS: false)
        let tree = try await SourceTree.scan(selection, excludes: ExcludeRules([]), cacheDirectory: nil)
        var sync = TargetSync(target: "local", client: client, destination: dst.root)
        sync.limits = BatchBuilder.Limits(batchBytes: 16 * 1024, smallFile: 8 * 1024, chunk: 4 * 1024)
        let edited = Cut()
        // After the first batch of pieces left: the rest of this attempt reads another version.
        let summary = try await sync.run(tree) { _ in
            if edited.once() { src.write(Array("big".utf8), Array(repeating: 2, count: 70_000)) }
        }
        #expect(summary.filesSent == 1, "\(summary.line)")
        #expect(FileIO.readWhole(dst.root + "/big", limit: 1 << 20) == Array(repeating: 2, count: 70_000))
        #expect(Self.names(dst.root + "/.automation-sync") == ["README"])
    }

    @Test("finding 7: a file that keeps changing while sent fails the sync naming it, and DEST is released at once")
    func keepsChanging() async throws {
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        src.write(Array("big".utf8), Array(repeating: 1, count: 60_000))
        let client = try await SyncHarness.connect()
        defer { client.close() }
        let selection = try SourceSelection.resolve(source: src.root, cwd: "/", includeVCS: false)
        let tree = try await SourceTree.scan(selection, excludes: ExcludeRules([]), cacheDirectory: nil)
        var sync = TargetSync(target: "local", client: client, destination: dst.root)
        sync.limits = BatchBuilder.Limits(batchBytes: 16 * 1024, smallFile: 8 * 1024, chunk: 4 * 1024)
        let size = Mutex(60_000)
        do {
            _ = try await sync.run(tree) { _ in
                let n = size.withLock { $0 += 1; return $0 }
                src.write(Array("big".utf8), Array(repeating: 3, count: n))
            }
            Issue.record("a file rewritten after every batch was reported as sent")
        } catch let error as SyncError {
            #expect(error.code == .changing && error.message.contains(src.root + "/big") && error.message.contains("sync again"), "\(error)")
        }
        // The agent heard the abort: DEST is free at once for a sync through another agent
        // (the same session would simply replace its own sync).
        let quiet = try await SourceTree.scan(selection, excludes: ExcludeRules([]), cacheDirectory: nil)
        let other = try await SyncHarness.connect()
        defer { other.close() }
        var next = TargetSync(target: "local", client: other, destination: dst.root)
        next.lockTimeout = .zero
        _ = try await next.run(quiet)
        #expect(try dst.hashWalk() == src.hashWalk())
    }

    @Test("a sync that finds DEST busy says it waits, and gives up after --lock-timeout with exit 75")
    func lockTimeout() async throws {
        let work = try TreeFixture.temporary("busy")
        defer { work.remove() }
        let src = try Self.source(work)
        let dest = work.root + "/dest"
        let holder = try await SyncHarness.connect()
        defer { holder.close() }
        let (_, scan) = try await holder.syncManifest(root: dest)
        let busy = try Self.cli(work, src, to: dest, ["--lock-timeout", "1"])
        #expect(busy.status == 75, "\(busy.stdout) \(busy.stderr)")
        #expect(busy.stderr.contains("waiting for another sync to \(dest) to finish") && busy.stderr.contains("still running after 1 s"), "\(busy.stderr)")
        try await holder.syncAbort(root: dest, sync: scan.sync)
        let free = try Self.cli(work, src, to: dest, ["--lock-timeout", "0"])
        #expect(free.status == 0, "\(free.stderr)")
    }
}
