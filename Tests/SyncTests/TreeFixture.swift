import Foundation
import Glibc
@testable import SyncCore

/// Random trees and random edits on a real file system, for property tests.
struct TreeFixture {
    let root: String

    static func temporary(_ label: String) throws -> TreeFixture {
        let root = NSTemporaryDirectory() + "sync-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return TreeFixture(root: root)
    }

    func remove() { _ = try? FileManager.default.removeItem(atPath: root) }

    /// Names that exercise the byte rules: non-UTF-8, newline, spaces, dashes.
    static let nameAlphabet: [[UInt8]] = [
        Array("a".utf8), Array("b.txt".utf8), Array("dir".utf8), Array("with space".utf8),
        Array("new\nline".utf8), [0xff, 0xfe, 0x41], Array("a-b".utf8), Array("Z".utf8), Array("é".utf8),
    ]

    func full(_ path: [UInt8]) -> [UInt8] { Array(root.utf8) + [UInt8(ascii: "/")] + path }

    func exists(_ path: [UInt8]) -> Bool {
        var st = stat()
        return withCPath(full(path)) { lstat($0, &st) } == 0
    }

    func isDirectory(_ path: [UInt8]) -> Bool {
        var st = stat()
        return withCPath(full(path)) { lstat($0, &st) } == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    func write(_ path: [UInt8], _ data: [UInt8], mode: mode_t = 0o644) {
        let fd = withCPath(full(path)) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode) }
        guard fd >= 0 else { return }
        _ = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)
        close(fd)
    }

    func mkdir(_ path: [UInt8], mode: mode_t = 0o755) {
        _ = withCPath(full(path)) { Glibc.mkdir($0, mode) }
    }

    func symlink(_ path: [UInt8], to target: [UInt8]) {
        _ = withCPath(target) { t in withCPath(full(path)) { Glibc.symlink(t, $0) } }
    }

    /// Removes a file, link or tree (any name bytes), without following links.
    func removeTree(_ path: [UInt8]) {
        let writer = try? TreeWriter(root: root, cache: ScanCache())
        try? writer?.apply(.delete(SyncPath(path)!))
    }

    /// Every entry with content hashes, modes and link targets, read without any cache
    /// (a destination's marker left out).
    func hashWalk() throws -> Manifest {
        var cache = ScanCache()
        var options = TreeScanner.Options()
        options.racyWindowNs = Int64.max / 2
        options.reservedRootNames = [SyncRoot.markerName]
        return try TreeScanner.scan(root: root, options: options, cache: &cache).0
    }

    /// Existing directories (relative), the root as [].
    func directories() throws -> [[UInt8]] {
        [[]] + (try hashWalk().entries.filter { $0.kind == .directory }.map(\.path.bytes))
    }

    func allPaths() throws -> [[UInt8]] { try hashWalk().entries.map(\.path.bytes) }

    /// One random edit: add, modify, delete, rename, chmod, type change, symlink.
    func randomEdit<R: RandomNumberGenerator>(_ rng: inout R) throws {
        let dirs = try directories()
        let paths = try allPaths()
        func child(of dir: [UInt8]) -> [UInt8] {
            let name = Self.nameAlphabet.randomElement(using: &rng)!
            return dir.isEmpty ? name : dir + [UInt8(ascii: "/")] + name
        }
        func content() -> [UInt8] {
            let size = [0, 1, 100, 5000, 70_000].randomElement(using: &rng)!
            return (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0, 1, 2:  // add a file
            let p = child(of: dirs.randomElement(using: &rng)!)
            if !exists(p) { write(p, content(), mode: [0o644, 0o755, 0o600].randomElement(using: &rng)!) }
        case 3:  // add a directory
            let p = child(of: dirs.randomElement(using: &rng)!)
            if !exists(p) { mkdir(p, mode: [0o755, 0o700, 0o555].randomElement(using: &rng)!) }
        case 4:  // modify a file
            if let p = paths.randomElement(using: &rng), !isDirectory(p) {
                removeTree(p)
                write(p, content())
            }
        case 5:  // delete anything
            if let p = paths.randomElement(using: &rng) { makeWritable(p); removeTree(p) }
        case 6:  // rename
            if let p = paths.randomElement(using: &rng) {
                let q = child(of: dirs.randomElement(using: &rng)!)
                if !exists(q) && !q.starts(with: p) {
                    _ = withCPath(full(p)) { a in withCPath(full(q)) { rename(a, $0) } }
                }
            }
        case 7:  // chmod
            if let p = paths.randomElement(using: &rng) {
                var st = stat()
                if withCPath(full(p), { lstat($0, &st) }) == 0 && (st.st_mode & S_IFMT) != S_IFLNK {
                    let modes: [mode_t] = (st.st_mode & S_IFMT) == S_IFDIR ? [0o755, 0o700, 0o555, 0o2775] : [0o644, 0o600, 0o755, 0o444, 0o4755]
                    _ = withCPath(full(p)) { chmod($0, modes.randomElement(using: &rng)!) }
                }
            }
        case 8:  // type change
            if let p = paths.randomElement(using: &rng) {
                let wasDir = isDirectory(p)
                makeWritable(p)
                removeTree(p)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0 where !wasDir: mkdir(p)
                case 1: symlink(p, to: Array("../somewhere/else".utf8))
                default: write(p, content())
                }
            }
        default:  // symlink (dangling, relative, absolute)
            let p = child(of: dirs.randomElement(using: &rng)!)
            if !exists(p) { symlink(p, to: [Array("a".utf8), Array("/etc/passwd".utf8), Array("../../x".utf8)].randomElement(using: &rng)!) }
        }
    }

    /// Makes `path`'s parent chain writable so that a test edit can remove it.
    func makeWritable(_ path: [UInt8]) {
        var prefix: [UInt8] = []
        for component in path.split(separator: UInt8(ascii: "/")).dropLast() {
            prefix += prefix.isEmpty ? Array(component) : [UInt8(ascii: "/")] + component
            _ = withCPath(full(prefix)) { chmod($0, 0o755) }
        }
        if isDirectory(path) { _ = withCPath(full(path)) { chmod($0, 0o755) } }
    }
}
