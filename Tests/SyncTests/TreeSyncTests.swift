import Foundation
import Glibc
import Testing
import TestSupport
@testable import SyncCore

/// Scanner, plan and writer on real directories, without an agent.
@Suite("tree sync on the file system", .timeLimit(.minutes(5)))
struct TreeSyncTests {
    /// Scan both sides, plan, write: what the controller and the agent do, in one process.
    static func sync(_ src: TreeFixture, _ dst: TreeFixture, srcCache: inout ScanCache, dstCache: inout ScanCache, chunkSize: Int = 4096) throws -> SyncPlan {
        let source = try TreeScanner.scan(root: src.root, options: .init(), cache: &srcCache).0
        let dstOptions = TreeScanner.Options()
        let destination = try TreeScanner.scan(root: dst.root, options: dstOptions, cache: &dstCache).0
        let plan = SyncPlan(source: source, destination: destination)
        let writer = try TreeWriter(root: dst.root, cache: dstCache)
        try writer.apply(plan.before)
        var upload: UInt64 = 0
        for entry in plan.sends {
            let data = try #require(FileIO.readWhole(bytes: src.full(entry.path.bytes), limit: 1 << 30))
            if data.count <= chunkSize {
                try writer.apply(.file(entry.path, mode: entry.mode, data: data))
            } else {
                upload += 1
                var offset = 0
                while offset < data.count {
                    let end = min(offset + chunkSize, data.count)
                    try writer.apply(.chunk(.init(path: entry.path, mode: entry.mode, upload: upload, offset: UInt64(offset), totalSize: UInt64(data.count),
                                                  finalDigest: end == data.count ? SHA256Hasher.digest(data) : nil, data: Array(data[offset..<end]))))
                    offset = end
                }
            }
        }
        try writer.apply(plan.after)
        dstCache = writer.cache
        return plan
    }

    @Test("property: random trees and edit sequences converge byte for byte, modes and links included", arguments: 0..<3)
    func randomEdits(seed: UInt64) throws {
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        var rng = SplitMix64(seed: seed &* 7919 &+ 3)
        var srcCache = ScanCache(), dstCache = ScanCache()
        for round in 0..<12 {
            for _ in 0..<(round == 0 ? 40 : Int.random(in: 1...8, using: &rng)) { try src.randomEdit(&rng) }
            _ = try Self.sync(src, dst, srcCache: &srcCache, dstCache: &dstCache)
            #expect(try dst.hashWalk() == src.hashWalk(), "seed \(seed) round \(round)")
            let again = try Self.sync(src, dst, srcCache: &srcCache, dstCache: &dstCache)
            #expect(again.isEmpty, "a second sync has nothing to do (seed \(seed) round \(round))")
        }
    }

    @Test("a symlink in the destination is never followed: writes stay below the root")
    func symlinkConfinement() throws {
        let dst = try TreeFixture.temporary("dst"), outside = try TreeFixture.temporary("outside")
        defer { dst.remove(); outside.remove() }
        dst.symlink(Array("escape".utf8), to: Array(outside.root.utf8))
        let writer = try TreeWriter(root: dst.root, cache: ScanCache())
        #expect(throws: SyncError.self) { try writer.apply(.file(SyncPath("escape/owned")!, mode: 0o644, data: [1])) }
        #expect(throws: SyncError.self) { try writer.apply(.mkdir(SyncPath("escape/d")!, mode: 0o755)) }
        #expect(throws: SyncError.self) { try writer.apply(.chmod(SyncPath("escape")!, mode: 0o700)) }
        #expect(try outside.allPaths().isEmpty)
        // Replacing the link with a file replaces the link, not its target.
        try writer.apply(.delete(SyncPath("escape")!))
        try writer.apply(.file(SyncPath("escape")!, mode: 0o644, data: [1]))
        #expect(FileManager.default.fileExists(atPath: outside.root))
    }

    @Test("a large file arrives in pieces; a wrong digest leaves the old version and no temporary file")
    func chunkedDigest() throws {
        let dst = try TreeFixture.temporary("dst")
        defer { dst.remove() }
        dst.write(Array("big".utf8), Array("old".utf8))
        let writer = try TreeWriter(root: dst.root, cache: ScanCache())
        let path = SyncPath("big")!
        try writer.apply(.chunk(.init(path: path, mode: 0o644, upload: 1, offset: 0, totalSize: 6, finalDigest: nil, data: [1, 2, 3])))
        #expect(throws: SyncError.self) {
            try writer.apply(.chunk(.init(path: path, mode: 0o644, upload: 1, offset: 3, totalSize: 6, finalDigest: .zero, data: [4, 5, 6])))
        }
        #expect(FileIO.readWhole(dst.root + "/big", limit: 100) == Array("old".utf8))
        #expect(try dst.allPaths() == [Array("big".utf8)])
        // Pieces in any order, the digest on whichever comes last or first.
        let content: [UInt8] = [1, 2, 3, 4, 5, 6]
        try writer.apply(.chunk(.init(path: path, mode: 0o640, upload: 2, offset: 3, totalSize: 6, finalDigest: SHA256Hasher.digest(content), data: [4, 5, 6])))
        #expect(FileIO.readWhole(dst.root + "/big", limit: 100) == Array("old".utf8))
        try writer.apply(.chunk(.init(path: path, mode: 0o640, upload: 2, offset: 0, totalSize: 6, finalDigest: nil, data: [1, 2, 3])))
        #expect(FileIO.readWhole(dst.root + "/big", limit: 100) == content)
        // A piece beyond 4 GiB lands at its offset (a sparse temporary file; never completed here).
        try writer.apply(.chunk(.init(path: SyncPath("huge")!, mode: 0o644, upload: 9, offset: (5 << 30) - 3, totalSize: 5 << 30, finalDigest: nil, data: [7, 8, 9])))
        let temp = try #require(try FileManager.default.contentsOfDirectory(atPath: dst.root).first { $0.hasPrefix(".automation-sync-") })
        #expect((try FileManager.default.attributesOfItem(atPath: dst.root + "/" + temp)[.size] as? Int) == 5 << 30)
        writer.abandonUploads()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dst.root).filter { $0.hasPrefix(".automation-sync-") }.isEmpty)
        // More bytes than announced are refused.
        #expect(throws: SyncError.self) {
            try writer.apply(.chunk(.init(path: path, mode: 0o644, upload: 3, offset: 0, totalSize: 2, finalDigest: nil, data: [1, 2, 3])))
        }
    }

    @Test("the scan cache skips unchanged files and notices a rewrite")
    func cacheHits() throws {
        let src = try TreeFixture.temporary("src")
        defer { src.remove() }
        src.write(Array("f".utf8), [1, 2, 3])
        var options = TreeScanner.Options()
        options.racyWindowNs = 0
        var cache = ScanCache()
        let first = try TreeScanner.scan(root: src.root, options: options, cache: &cache)
        #expect(first.1.hashedFiles == 1)
        let second = try TreeScanner.scan(root: src.root, options: options, cache: &cache)
        #expect(second.1.hashedFiles == 0 && second.0 == first.0)
        src.removeTree(Array("f".utf8))
        src.write(Array("f".utf8), [9, 9, 9, 9])
        let third = try TreeScanner.scan(root: src.root, options: options, cache: &cache)
        #expect(third.1.hashedFiles == 1 && third.0.entries[0].digest == SHA256Hasher.digest([9, 9, 9, 9]))
        // Round trip through the persisted form.
        #expect(try ScanCache(decoding: cache.encoded()).count == 1)
    }
}
