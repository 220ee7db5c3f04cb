import AgentProtocol
import Foundation
import SSH
import Testing
import TestSupport
@testable import SyncCore

@Suite("sync core: hashing, paths, binary formats")
struct SyncCoreTests {
    @Test("SHA-256 matches known vectors and the reference implementation at every split")
    func sha256() {
        #expect(SHA256Hasher.digest([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Hasher.digest(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var million = SHA256Hasher()
        let a = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { million.update(a) }
        #expect(million.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        var rng = SplitMix64(seed: 7)
        for length in [55, 56, 63, 64, 65, 119, 120, 1000, 4097] {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let reference = SSH.SHA256.hash(data)
            #expect(SHA256Hasher.digest(data).bytes == reference)
            for software in [false, true] {
                var split = SHA256Hasher(software: software)
                let cut = Int.random(in: 0...length, using: &rng)
                split.update(Array(data[..<cut]))
                split.update(Array(data[cut...]))
                #expect(split.finalize().bytes == reference, "split at \(cut) of \(length), software \(software)")
            }
        }
    }

    @Test("relative paths: unsafe names are refused, any other bytes are fine")
    func pathRules() {
        for bad in ["", "/etc/passwd", "a/../b", "..", ".", "a//b", "a/", "a/./b", "../x"] {
            #expect(SyncPath(bad) == nil, "\(bad)")
        }
        #expect(SyncPath([0x61, 0x00, 0x62]) == nil)
        #expect(SyncPath(Array(repeating: 0x61, count: 256)) == nil)
        for good in ["a", "a/b/c", "..a", "a..", ".hg/store", "new\nline", "with space"] {
            #expect(SyncPath(good) != nil, "\(good)")
        }
        #expect(SyncPath([0xff, 0xfe]) != nil)
        #expect(SyncPath("a/b/c")!.parent == SyncPath("a/b"))
        #expect(SyncPath("a")!.parent == nil)
        #expect(SyncPath("new\nline")!.description == "new\\x0aline")
    }

    @Test("manifest and batch round-trip; truncated or corrupted input is an error, never a crash")
    func binaryFormats() throws {
        let manifest = Manifest([
            ManifestEntry(path: SyncPath("d")!, kind: .directory, mode: 0o755),
            ManifestEntry(path: SyncPath([0x64, 0x2f, 0xff])!, kind: .file, mode: 0o4755, size: 3, digest: SHA256Hasher.digest([1, 2, 3])),
            ManifestEntry(path: SyncPath("l")!, kind: .symlink, mode: 0o777, target: Array("../x".utf8)),
        ])
        let bytes = manifest.encoded()
        #expect(try Manifest(decoding: bytes) == manifest)
        // Sizes and offsets beyond 4 GiB survive both formats.
        let huge = Manifest([ManifestEntry(path: SyncPath("huge")!, kind: .file, mode: 0o644, size: 5 << 30, digest: .zero)])
        #expect(try Manifest(decoding: huge.encoded()) == huge)
        let farPiece: [SyncAction] = [.chunk(.init(path: SyncPath("huge")!, mode: 0o644, upload: 1, offset: (5 << 30) - 3, totalSize: 5 << 30, finalDigest: nil, data: [1, 2, 3]))]
        #expect(try SyncBatch.decode(SyncBatch.encode(farPiece)) == farPiece)
        let actions: [SyncAction] = [
            .delete(SyncPath("x")!), .mkdir(SyncPath("d")!, mode: 0o700), .file(SyncPath("d/f")!, mode: 0o644, data: [1, 2]),
            .symlink(SyncPath("l")!, target: Array("t".utf8)), .chmod(SyncPath("d")!, mode: 0o555),
            .chunk(.init(path: SyncPath("big")!, mode: 0o600, upload: 9, offset: 0, totalSize: 4, finalDigest: .zero, data: [1, 2, 3, 4])),
        ]
        let batch = SyncBatch.encode(actions)
        #expect(try SyncBatch.decode(batch) == actions)
        var rng = SplitMix64(seed: 11)
        for input in [bytes, batch] {
            for cut in 0..<input.count {
                _ = try? Manifest(decoding: Array(input[..<cut]))
                _ = try? SyncBatch.decode(Array(input[..<cut]))
            }
            for _ in 0..<2000 {
                var damaged = input
                damaged[Int.random(in: 0..<damaged.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                _ = try? Manifest(decoding: damaged)
                _ = try? SyncBatch.decode(damaged)
            }
        }
        // Unsafe paths inside otherwise well-formed data are refused by name.
        var w = ByteWriter()
        w.bytes(SyncBatch.magic); w.u8(1); w.blob(Array("../etc".utf8))
        #expect(throws: SyncError.self) { try SyncBatch.decode(w.buffer) }
        var m = ByteWriter()
        m.bytes(Manifest.magic); m.u32(1); m.u8(2); m.u32(0o755); m.u64(0); m.blob(Array("/abs".utf8))
        #expect(throws: SyncError.self) { try Manifest(decoding: m.buffer) }
    }

    @Test("sync.apply's hand-written line decodes to the same request through Codable")
    func fastPathAgrees() throws {
        let codec = MessageCodec()
        for save in [nil, true, false] as [Bool?] {
            let message = ControllerMessage.request(Request(id: 42, body: .syncApply(SyncApplyParams(
                root: "/srv/wörk \"quoted\"", batch: Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }), save: save))))
            var line = try codec.encodeLine(message)
            line.removeLast()
            #expect(try codec.decodeWithCodable(ControllerMessage.self, line).get() == message)
            #expect(try codec.decodeControllerLine(line).get() == message)
        }
    }

    @Test("roots: /, a home directory and relative paths are refused")
    func roots() throws {
        #expect(throws: SyncError.self) { try SyncRoot.check("/", home: "/home/u") }
        #expect(throws: SyncError.self) { try SyncRoot.check("//", home: nil) }
        #expect(throws: SyncError.self) { try SyncRoot.check("/home/u/", home: "/home/u") }
        #expect(throws: SyncError.self) { try SyncRoot.check("relative/dir", home: nil) }
        #expect(throws: SyncError.self) { try SyncRoot.check("/tmp/../etc", home: nil) }
        #expect(try SyncRoot.check("/home/u/src/", home: "/home/u") == "/home/u/src")
    }
}
