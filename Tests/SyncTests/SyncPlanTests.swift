import Foundation
import Testing
import TestSupport
@testable import SyncCore

/// An in-memory tree that applies actions with the file system's rules
/// (a parent must exist and be a directory), so the plan is tested without I/O.
struct ModelTree {
    var entries: [SyncPath: ManifestEntry]

    init(_ manifest: Manifest) { entries = manifest.byPath }

    mutating func apply(_ action: SyncAction, content: [SyncPath: ManifestEntry]) throws {
        if let parent = action.path.parent {
            guard entries[parent]?.kind == .directory else { throw ModelError.noParent(action.path.description) }
        }
        switch action {
        case .delete(let p):
            let prefix = p.bytes + [UInt8(ascii: "/")]
            entries = entries.filter { $0.key != p && !$0.key.bytes.starts(with: prefix) }
        case .mkdir(let p, let mode):
            guard entries[p] == nil else { throw ModelError.exists(p.description) }
            entries[p] = ManifestEntry(path: p, kind: .directory, mode: mode)
        case .symlink(let p, let target):
            guard entries[p] == nil || entries[p]?.kind == .symlink else { throw ModelError.exists(p.description) }
            entries[p] = ManifestEntry(path: p, kind: .symlink, mode: 0o777, target: target)
        case .chmod(let p, let mode):
            guard entries[p] != nil else { throw ModelError.missing(p.description) }
            entries[p]!.mode = mode
        case .file, .chunk:
            let p = action.path
            guard entries[p] == nil || entries[p]?.kind == .file else { throw ModelError.exists(p.description) }
            entries[p] = content[p]
        }
    }

    enum ModelError: Error { case noParent(String), exists(String), missing(String) }
}

@Suite("sync plan")
struct SyncPlanTests {
    static func randomManifest<R: RandomNumberGenerator>(_ rng: inout R) -> Manifest {
        var entries: [SyncPath: ManifestEntry] = [:]
        var dirs: [SyncPath?] = [nil]
        let names = ["a", "b", "c", "d"]
        for _ in 0..<Int.random(in: 0..<25, using: &rng) {
            let parent = dirs.randomElement(using: &rng)!
            let name = Array(names.randomElement(using: &rng)!.utf8)
            let path = parent.map { $0.appending(name) } ?? SyncPath(name)!
            guard entries[path] == nil else { continue }
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                entries[path] = ManifestEntry(path: path, kind: .directory, mode: [0o755, 0o555, 0o700].randomElement(using: &rng)!)
                dirs.append(path)
            case 1:
                let v = UInt8.random(in: 0...2, using: &rng)
                entries[path] = ManifestEntry(path: path, kind: .file, mode: [0o644, 0o755].randomElement(using: &rng)!, size: UInt64(v), digest: SHA256Hasher.digest([v]))
            default:
                entries[path] = ManifestEntry(path: path, kind: .symlink, mode: 0o777, target: [UInt8(ascii: "t"), UInt8.random(in: 48...50, using: &rng)])
            }
        }
        return Manifest(Array(entries.values))
    }

    @Test("property: applying the plan to any destination yields exactly the source", arguments: 0..<4)
    func planConverges(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed * 1_000_003 + 1)
        for _ in 0..<500 {
            let source = Self.randomManifest(&rng), destination = Self.randomManifest(&rng)
            let plan = SyncPlan(source: source, destination: destination)
            var model = ModelTree(destination)
            let content = source.byPath
            for action in plan.before { try model.apply(action, content: content) }
            for entry in plan.sends { try model.apply(.file(entry.path, mode: entry.mode, data: []), content: content) }
            for action in plan.after { try model.apply(action, content: content) }
            #expect(Manifest(Array(model.entries.values)) == source)
            // A second plan has nothing left to do.
            #expect(SyncPlan(source: source, destination: Manifest(Array(model.entries.values))).isEmpty)
        }
    }

    @Test("only changed content is sent; a mode change alone is a chmod")
    func minimal() {
        let d = SHA256Hasher.digest([1])
        let src = Manifest([
            ManifestEntry(path: SyncPath("same")!, kind: .file, mode: 0o644, size: 1, digest: d),
            ManifestEntry(path: SyncPath("mode")!, kind: .file, mode: 0o755, size: 1, digest: d),
            ManifestEntry(path: SyncPath("new")!, kind: .file, mode: 0o644, size: 1, digest: d),
        ])
        let dst = Manifest([
            ManifestEntry(path: SyncPath("same")!, kind: .file, mode: 0o644, size: 1, digest: d),
            ManifestEntry(path: SyncPath("mode")!, kind: .file, mode: 0o644, size: 1, digest: d),
            ManifestEntry(path: SyncPath("gone")!, kind: .directory, mode: 0o755),
            ManifestEntry(path: SyncPath("gone/x")!, kind: .file, mode: 0o644, size: 1, digest: d),
        ])
        let plan = SyncPlan(source: src, destination: dst)
        #expect(plan.sends.map(\.path) == [SyncPath("new")!])
        #expect(plan.before == [.delete(SyncPath("gone")!)])
        #expect(plan.after == [.chmod(SyncPath("mode")!, mode: 0o755)])
    }
}
