import Foundation
import Glibc
import Synchronization
import Testing
@testable import SyncCore

/// Issue 21, sync review: what lies behind a mount point inside DEST, a link
/// swapped in before a chmod, a FIFO swapped in before a read, and the
/// marker's names in a batch.
@Suite("sync never crosses a mount, follows a link or blocks on a FIFO", .serialized, .timeLimit(.minutes(10)))
struct SyncBoundaryTests {
    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
    }

    /// `mount --bind source target`, undone by the returned closure.
    static func bind(_ source: String, _ target: String) throws -> () -> Void {
        let mounted = try SyncHarness.run(["/bin/mount", "--bind", source, target])
        try #require(mounted.status == 0, "mount --bind: \(mounted.stderr)")
        return { _ = try? SyncHarness.run(["/bin/umount", "-l", target]) }
    }

    @Test("a bind mount inside DEST (of a data set) is never emptied, entered or chmodded: the sync is refused naming it", .requires(SyncHarness.mounts))
    func mountPointInsideDestination() throws {
        let work = try TreeFixture.temporary("mount")
        defer { work.remove() }
        let src = try SyncDestinationTests.source(work)
        let dest = work.root + "/dest", dataset = work.root + "/dataset"
        try SyncDestinationTests.populate(dataset)
        #expect(chmod(dataset, 0o750) == 0)
        let first = try SyncDestinationTests.cli(work, src, to: dest)
        try #require(first.status == 0, "\(first.stderr)")
        // Both cases: the source lacks data/ (a delete), and the source has data/ (writes into it).
        for sourceHasData in [false, true] {
            try FileManager.default.createDirectory(atPath: dest + "/data", withIntermediateDirectories: true)
            let unmount = try Self.bind(dataset, dest + "/data")
            defer { unmount() }
            if sourceHasData {
                try FileManager.default.createDirectory(atPath: src + "/data", withIntermediateDirectories: true)
                FileManager.default.createFile(atPath: src + "/data/new", contents: Data("n".utf8))
            }
            let result = try SyncDestinationTests.cli(work, src, to: dest)
            #expect(result.status == 255 && result.stderr.contains("mount point") && result.stderr.contains(dest + "/data"),
                    "source has data/: \(sourceHasData): \(result.stdout) \(result.stderr)")
            #expect(SyncDestinationTests.names(dataset) == (0..<5).map { "precious-\($0)" }, "nothing behind the mount changed")
            #expect(Self.mode(dataset) == 0o750)
        }
    }

    @Test("an old temporary directory in the marker that is a mount point is not emptied: the sync is refused naming it", .requires(SyncHarness.mounts))
    func mountPointInMarker() throws {
        let work = try TreeFixture.temporary("mount-marker")
        defer { work.remove() }
        let dest = work.root + "/dest", dataset = work.root + "/dataset"
        try SyncDestinationTests.populate(dataset)
        let first = try SyncDestination.begin(dest, home: nil, cacheDirectory: nil, adopt: false, waitNs: 0)
        first.end()
        let stale = dest + "/.automation-sync/tmp-0123456789abcdef0123456789abcdef"
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        let unmount = try Self.bind(dataset, stale)
        defer { unmount() }
        do {
            let sync = try SyncDestination.begin(dest, home: nil, cacheDirectory: nil, adopt: false, waitNs: 0)
            sync.end()
            Issue.record("the sweep of old temporary directories went through a mount point")
        } catch {
            #expect(error.code == .unsafePath && error.message.contains("mount point"), "\(error)")
        }
        #expect(SyncDestinationTests.names(dataset).count == 5)
    }

    @Test("a link at a path when its chmod is applied (planned when it was a file) leaves the link's target alone")
    func chmodOfSwappedInLink() throws {
        let work = try TreeFixture.temporary("chmod-link")
        defer { work.remove() }
        let dest = work.root + "/dest", victim = work.root + "/id_ed25519"
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: victim, contents: Data("key".utf8))
        #expect(chmod(victim, 0o600) == 0)
        let writer = try TreeWriter(root: dest, cache: ScanCache())
        let f = SyncPath("f")!, d = SyncPath("d")!
        // Deterministic: the link is there when the batch is applied.
        #expect(symlink(victim, dest + "/f") == 0)
        #expect(symlink(work.root, dest + "/d") == 0)
        for action in [SyncAction.chmod(f, mode: 0o644), .mkdir(d, mode: 0o777)] {
            #expect(throws: SyncError.self) { try writer.apply(action) }
        }
        #expect(Self.mode(victim) == 0o600 && Self.mode(work.root) != 0o777)
        // The race: the entry flips between a file and a link to the key while chmods are applied.
        unlink(dest + "/f")
        let stop = Flag()
        let flipper = Thread {
            var i = 0
            while !stop.value.load(ordering: .relaxed) {
                let temp = dest + "/.flip\(i % 2)"
                if i % 2 == 0 { _ = symlink(victim, temp) } else { close(open(temp, O_WRONLY | O_CREAT, 0o644)) }
                _ = rename(temp, dest + "/f")
                i += 1
            }
        }
        flipper.start()
        for i in 0..<200_000 {
            try? writer.apply(.chmod(f, mode: i % 2 == 0 ? 0o644 : 0o640))
        }
        stop.value.store(true, ordering: .relaxed)
        while !flipper.isFinished { usleep(1000) }
        #expect(Self.mode(victim) == 0o600, "a chmod followed a link swapped in after its check")
    }

    @Test("a FIFO where the scan saw a regular file does not block it: the scan fails at once naming the path")
    func fifoSwappedIn() throws {
        let work = try TreeFixture.temporary("fifo")
        defer { work.remove() }
        let dir = work.root
        FileManager.default.createFile(atPath: dir + "/regular", contents: Data("r".utf8))
        #expect(mkfifo(dir + "/f", 0o644) == 0)
        var st = stat()
        #expect(lstat(dir + "/regular", &st) == 0)
        let regular = st
        let outcome = Outcome()
        let scanner = Thread {
            // What the scan does once lstat has said "regular file" and the FIFO is swapped in.
            guard let root = OwnedFD.open(at: AT_FDCWD, Array(dir.utf8), O_RDONLY | O_DIRECTORY) else {
                outcome.value.withLock { $0 = "open failed" }
                return
            }
            var scan = TreeScanner(rootPath: dir, root: root, options: TreeScanner.Options(), cache: ScanCache(), racyAfter: 0)
            do throws(SyncError) {
                _ = try scan.hash(root.raw, Array("f".utf8), SyncPath("f")!, regular)
                outcome.value.withLock { $0 = "hashed" }
            } catch {
                outcome.value.withLock { $0 = "\(error.code): \(error.message)" }
            }
        }
        scanner.start()
        // A bounded wait for a hang (not a timing assertion): 30 s, then unblock it and fail.
        var waited = 0
        while outcome.value.withLock({ $0 }) == nil && waited < 3000 {
            usleep(10_000)
            waited += 1
        }
        let result = outcome.value.withLock { $0 }
        if result == nil {
            close(open(dir + "/f", O_WRONLY | O_NONBLOCK))  // releases the blocked open
            Issue.record("the scan blocked opening a FIFO")
        }
        while !scanner.isFinished { usleep(1000) }
        if let result {
            #expect(result.hasPrefix("changing") && result.contains(dir + "/f"), "\(result)")
        }
    }

    @Test("the controller's reader: a FIFO where the source scan saw a file fails at once instead of blocking the send")
    func fifoInSource() throws {
        let work = try TreeFixture.temporary("fifo-source")
        defer { work.remove() }
        let dir = work.root
        #expect(mkfifo(dir + "/f", 0o644) == 0)
        let outcome = Outcome()
        let reader = Thread {
            do throws(SyncError) {
                _ = try SourceReader(root: dir).open(SyncPath("f")!)
                outcome.value.withLock { $0 = "opened" }
            } catch {
                outcome.value.withLock { $0 = "\(error.code): \(error.message)" }
            }
        }
        reader.start()
        var waited = 0  // a bounded wait for a hang: 30 s
        while outcome.value.withLock({ $0 }) == nil && waited < 3000 {
            usleep(10_000)
            waited += 1
        }
        let result = outcome.value.withLock { $0 }
        if result == nil {
            close(open(dir + "/f", O_WRONLY | O_NONBLOCK))
            Issue.record("the source reader blocked opening a FIFO")
        }
        while !reader.isFinished { usleep(1000) }
        if let result { #expect(result.hasPrefix("changing") && result.contains(dir + "/f"), "\(result)") }
    }

    @Test("a batch naming .automation-sync/… (the marker, the private directory) is refused and changes nothing there")
    func markerPathsInBatch() throws {
        let work = try TreeFixture.temporary("marker-batch")
        defer { work.remove() }
        let dest = work.root + "/dest"
        let sync = try SyncDestination.begin(dest, home: nil, cacheDirectory: nil, adopt: false, waitNs: 0)
        defer { sync.end() }
        _ = try sync.scan()
        let hostile: [SyncAction] = [
            .delete(SyncPath(".automation-sync")!),
            .file(SyncPath(".automation-sync/README")!, mode: 0o644, data: Array("x".utf8)),
            .delete(SyncPath(".automation-sync/README")!),
            .chmod(SyncPath(".automation-sync")!, mode: 0o777),
            .symlink(SyncPath(".automation-sync/tmp-x")!, target: Array("/".utf8)),
        ]
        for action in hostile {
            do {
                try sync.apply([action], save: false)
                Issue.record("\(action) was applied")
            } catch {
                #expect(error.code == .unsafePath, "\(error)")
            }
        }
        #expect(FileIO.readWhole(dest + "/.automation-sync/README", limit: 4096) == SyncDestination.readme)
        #expect(Self.mode(dest + "/.automation-sync") == 0o755)
    }
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

final class Outcome: Sendable {
    let value = Mutex<String?>(nil)
}
