import AgentProtocol
import Foundation
import Glibc
import Testing
import TestSupport
@testable import AutomationKit
@testable import SyncCore

@Suite("sync through a real agent", .timeLimit(.minutes(10)))
struct AgentSyncTests {
    @Test("property: random trees and edit sequences converge over a real agent", arguments: [0 as UInt64, 1])
    func randomEdits(seed: UInt64) async throws {
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst"), cache = try TreeFixture.temporary("cache")
        defer { src.remove(); dst.remove(); cache.remove() }
        var rng = SplitMix64(seed: seed &* 104_729 &+ 17)
        let client = try await SyncHarness.connect()
        defer { client.close() }
        for round in 0..<10 {
            for _ in 0..<(round == 0 ? 40 : Int.random(in: 1...8, using: &rng)) { try src.randomEdit(&rng) }
            try await SyncHarness.sync(client, src.root, to: dst.root, small: seed == 1, cache: cache.root)
            #expect(try dst.hashWalk() == src.hashWalk(), "seed \(seed) round \(round)")
            let again = try await SyncHarness.sync(client, src.root, to: dst.root, small: seed == 1, cache: cache.root)
            #expect(again.filesSent == 0 && again.deleted == 0 && again.otherChanges == 0, "no-op after round \(round): \(again.line)")
        }
    }

    @Test("large files in pieces, a manifest too large to inline, and the agent's persisted cache")
    func largeFilesAndManifestFile() async throws {
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        var rng = SplitMix64(seed: 5)
        let big = (0..<(3 * 1024 * 1024 + 17)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        src.write(Array("big.bin".utf8), big, mode: 0o640)
        src.mkdir(Array("many".utf8))
        for i in 0..<300 { src.write(Array("many/file-with-a-long-name-\(i)".utf8), Array("\(i)".utf8)) }
        let client = try await SyncHarness.connect()
        defer { client.close() }
        let first = try await SyncHarness.sync(client, src.root, to: dst.root)
        #expect(first.filesSent == 301)
        #expect(try dst.hashWalk() == src.hashWalk())
        // A manifest bigger than the inline limit comes back through fs.read.
        let (manifest, result) = try await client.syncManifest(root: dst.root, inlineLimit: 1000)
        #expect(result.data == nil && result.path != nil)
        #expect(manifest == (try dst.hashWalk()))
        try await client.syncAbort(root: dst.root, sync: result.sync)
        // A fresh agent (new process) finds the persisted scan cache: nothing is re-hashed.
        let other = try await SyncHarness.connect()
        defer { other.close() }
        let (_, rescan) = try await other.syncManifest(root: dst.root)
        #expect(rescan.hashedFiles == 0)
        try await other.syncAbort(root: dst.root, sync: rescan.sync)
    }

    @Test("safety: unsafe paths, /, a home directory and a symlinked parent are refused; the agent keeps serving")
    func safety() async throws {
        let dst = try TreeFixture.temporary("dst"), outside = try TreeFixture.temporary("outside")
        defer { dst.remove(); outside.remove() }
        let client = try await SyncHarness.connect()
        defer { client.close() }
        func code(_ body: () async throws -> Void) async -> String? {
            do {
                try await body()
                return nil
            } catch let error as AgentClientError {
                return error.remote?.code.rawValue
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(await code { _ = try await client.syncManifest(root: "/") } == "bad_root")
        #expect(await code { _ = try await client.syncManifest(root: NSHomeDirectory()) } == "bad_root")
        #expect(await code { _ = try await client.syncManifest(root: dst.root + "/../x") } == "bad_root")
        let (_, scan) = try await client.syncManifest(root: dst.root)
        // Hand-made batches with names that leave the root (each error ends the sync: a new scan begins the next).
        for bad in ["../escape", "/etc/x", "a/../../b", "a//b"] {
            var batch = Array("ASB1".utf8) + [3]
            let name = Array(bad.utf8)
            batch += withUnsafeBytes(of: UInt32(name.count).littleEndian, Array.init) + name
            batch += withUnsafeBytes(of: UInt32(0o644).littleEndian, Array.init) + withUnsafeBytes(of: UInt32(1).littleEndian, Array.init) + [0x41]
            let sync = try await client.syncManifest(root: dst.root).1.sync
            #expect(await code { try await client.syncApply(root: dst.root, sync: sync, batch: batch) } == "unsafe_path", "\(bad)")
        }
        #expect(await code { try await client.syncApply(root: dst.root, sync: scan.sync, batch: SyncBatch.encode([])) } == "unknown_sync")
        #expect(!FileManager.default.fileExists(atPath: (dst.root as NSString).deletingLastPathComponent + "/escape"))
        let garbage = try await client.syncManifest(root: dst.root).1.sync
        #expect(await code { try await client.syncApply(root: dst.root, sync: garbage, batch: Array("garbage".utf8)) } == "invalid_field")
        // A symlink planted in DEST is not followed.
        dst.symlink(Array("link".utf8), to: Array(outside.root.utf8))
        let write = SyncBatch.encode([.file(SyncPath("link/owned")!, mode: 0o644, data: [1])])
        let planted = try await client.syncManifest(root: dst.root).1.sync
        #expect(await code { try await client.syncApply(root: dst.root, sync: planted, batch: write) } == "unsafe_path")
        #expect(try outside.allPaths().isEmpty)
        try await client.ping()
        // A DEST the agent user cannot create is a clear error.
        let file = dst.root + "/plainfile"
        FileManager.default.createFile(atPath: file, contents: Data([1]))
        #expect(await code { _ = try await client.syncManifest(root: file + "/sub") } == "not_a_directory")
    }

    @Test("a file that changes after the scan is sent as it is when read, in one piece or many")
    func changedAfterScan() async throws {
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        src.write(Array("small".utf8), Array("before".utf8))
        src.write(Array("large".utf8), Array(repeating: 1, count: 50_000))
        let client = try await SyncHarness.connect()
        defer { client.close() }
        let selection = try SourceSelection.resolve(source: src.root, cwd: "/", includeVCS: false)
        let tree = try await SourceTree.scan(selection, excludes: ExcludeRules([]), cacheDirectory: nil)
        src.write(Array("small".utf8), Array("after, longer".utf8))
        src.write(Array("large".utf8), Array(repeating: 2, count: 60_000))
        var sync = TargetSync(target: "local", client: client, destination: dst.root)
        sync.limits = BatchBuilder.Limits(batchBytes: 16 * 1024, smallFile: 8 * 1024, chunk: 4 * 1024)
        _ = try await sync.run(tree)
        #expect(try dst.hashWalk() == src.hashWalk())
    }

    @Test("a file changing between pieces is restarted under a new upload; the final piece matches one version")
    func changingWhileRead() throws {
        let src = try TreeFixture.temporary("src")
        defer { src.remove() }
        src.write(Array("f".utf8), Array(repeating: 1, count: 20_000))
        let reader = try SourceReader(root: src.root)
        let entry = ManifestEntry(path: SyncPath("f")!, kind: .file, mode: 0o644, size: 20_000)
        let builder = BatchBuilder(reader: reader, sends: [entry], limits: .init(batchBytes: 4096, smallFile: 1024, chunk: 4096))
        let first = try #require(try builder.next())
        guard case .chunk(let firstPiece) = first[0] else { Issue.record("expected a piece"); return }
        let newContent = Array(repeating: UInt8(3), count: 30_000)
        src.write(Array("f".utf8), newContent)  // same inode, new size and mtime
        var finals: [SyncAction.Chunk] = []
        while let actions = try builder.next() {
            for case .chunk(let c) in actions where c.finalDigest != nil { finals.append(c) }
        }
        #expect(finals.count == 1)
        #expect(finals.first?.upload != firstPiece.upload)
        #expect(finals.first?.finalDigest == SHA256Hasher.digest(newContent))
    }
}
