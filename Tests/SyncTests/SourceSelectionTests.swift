import Foundation
import Glibc
import Testing
import TestSupport
@testable import AutomationKit
@testable import SyncCore

@Suite("what travels: git, Mercurial's source tree, excludes, the CLI", .timeLimit(.minutes(10)))
struct SourceSelectionTests {
    static let gitInstalled = Requirement("needs /usr/bin/git (apt-get install git)") { Requirement.executable("/usr/bin/git") }

    @Test("git: tracked, untracked and not ignored; deleted and ignored files stay behind; --include-vcs adds .git",
          .requires(gitInstalled))
    func git() async throws {
        let src = try TreeFixture.temporary("git"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        src.write(Array(".gitignore".utf8), Array("*.o\nbuild/\n".utf8))
        src.write(Array("tracked.c".utf8), Array("int x;\n".utf8))
        src.write(Array("gone.c".utf8), Array("old\n".utf8))
        src.symlink(Array("link".utf8), to: Array("tracked.c".utf8))
        let setup = try SyncHarness.shell("git init -q . && git add -A && git -c user.email=t@t -c user.name=t commit -qm init", cwd: src.root)
        try #require(setup.status == 0, "\(setup.stderr)")
        src.write(Array("tracked.c".utf8), Array("int x = 1; /* uncommitted */\n".utf8))
        src.write(Array("untracked.h".utf8), Array("new\n".utf8))
        src.write(Array("ignored.o".utf8), Array("obj".utf8))
        src.mkdir(Array("build".utf8))
        src.write(Array("build/out".utf8), Array("x".utf8))
        unlink(src.root + "/gone.c")

        let client = try await SyncHarness.connect()
        defer { client.close() }
        let selection = try SourceSelection.resolve(source: nil, cwd: src.root, includeVCS: false)
        #expect(selection.vcs == .git)
        try await SyncHarness.sync(client, src.root, to: dst.root, selection: selection)
        let names = Set(try dst.allPaths().map { String(decoding: $0, as: UTF8.self) })
        #expect(names == [".gitignore", "tracked.c", "untracked.h", "link"])
        #expect(FileIO.readWhole(dst.root + "/tracked.c", limit: 100) == Array("int x = 1; /* uncommitted */\n".utf8))

        let withVCS = try SourceSelection.resolve(source: src.root, cwd: "/", includeVCS: true)
        try await SyncHarness.sync(client, src.root, to: dst.root, selection: withVCS)
        #expect(FileManager.default.fileExists(atPath: dst.root + "/.git/HEAD"))
        let log = try SyncHarness.shell("git log --oneline", cwd: dst.root)
        #expect(log.status == 0 && log.stdout.contains("init"), "the copied repository works: \(log.stderr)")
    }

    /// Mercurial from the 7.2.4 sdist, run from its source tree (pure Python).
    /// Not Debian's package: its /etc/mercurial/hgrc changes what the Mercurial
    /// runner test's test-empty.t prints.
    @Test("hg: tracked, added and unknown files as on disk; removed, deleted and ignored ones stay behind")
    func mercurial() async throws {
        let tools = try TreeFixture.temporary("hg-tool")
        defer { tools.remove() }
        let untar = try SyncHarness.run(["/bin/tar", "xzf", try MercurialSdist.tarball(), "-C", tools.root])
        try #require(untar.status == 0, "\(untar.stderr)")
        let hg = tools.root + "/mercurial-\(MercurialSdist.version)/hg"
        setenv("HG", hg, 1)
        let src = try TreeFixture.temporary("hg"), dst = try TreeFixture.temporary("dst")
        defer { src.remove(); dst.remove() }
        src.write(Array(".hgignore".utf8), Array("syntax: glob\n*.o\n".utf8))
        src.write(Array("clean.py".utf8), Array("clean\n".utf8))
        src.write(Array("modified.py".utf8), Array("v1\n".utf8))
        src.write(Array("removed.py".utf8), Array("r\n".utf8))
        src.write(Array("deleted.py".utf8), Array("d\n".utf8))
        let quoted = "'\(hg)'"
        let setup = try SyncHarness.shell("\(quoted) init && \(quoted) add -q && \(quoted) commit -q -u t -m init", cwd: src.root)
        try #require(setup.status == 0, "\(setup.stderr)")
        src.write(Array("modified.py".utf8), Array("v2, uncommitted\n".utf8))
        src.write(Array("added.py".utf8), Array("a\n".utf8))
        src.write(Array("unknown.txt".utf8), Array("u\n".utf8))
        src.write(Array("ignored.o".utf8), Array("o".utf8))
        let edits = try SyncHarness.shell("\(quoted) add -q added.py && \(quoted) remove -q removed.py && rm deleted.py", cwd: src.root)
        try #require(edits.status == 0, "\(edits.stderr)")

        let selection = try SourceSelection.resolve(source: nil, cwd: src.root, includeVCS: false)
        #expect(selection.vcs == .mercurial)
        let client = try await SyncHarness.connect()
        defer { client.close() }
        try await SyncHarness.sync(client, src.root, to: dst.root, selection: selection)
        let names = Set(try dst.allPaths().map { String(decoding: $0, as: UTF8.self) })
        #expect(names == [".hgignore", "clean.py", "modified.py", "added.py", "unknown.txt"])
        #expect(FileIO.readWhole(dst.root + "/modified.py", limit: 100) == Array("v2, uncommitted\n".utf8))
        let withVCS = try SourceSelection.resolve(source: src.root, cwd: "/", includeVCS: true)
        try await SyncHarness.sync(client, src.root, to: dst.root, selection: withVCS)
        #expect(FileManager.default.fileExists(atPath: dst.root + "/.hg/requires"))
    }

    @Test("excludes: a name anywhere, or an anchored path; an excluded directory takes its content")
    func excludes() {
        let rules = ExcludeRules(["*.pyc", "build", "doc/*.html"])
        #expect(rules.excludes(SyncPath("a/b/x.pyc")!))
        #expect(rules.excludes(SyncPath("build")!))
        #expect(rules.excludes(SyncPath("src/build")!))
        #expect(rules.excludes(SyncPath("doc/a.html")!))
        #expect(!rules.excludes(SyncPath("doc/sub/a.html")!))
        #expect(!rules.excludes(SyncPath("a/b/x.py")!))
    }

    @Test("Mercurial's source tree from the sdist: byte-identical, then a no-op, then one edit")
    func mercurialTree() async throws {
        let work = try TreeFixture.temporary("hg-sdist"), dst = try TreeFixture.temporary("dst")
        defer { work.remove(); dst.remove() }
        let tarball = try MercurialSdist.tarball()
        let untar = try SyncHarness.run(["/bin/tar", "xzf", tarball, "-C", work.root])
        try #require(untar.status == 0, "\(untar.stderr)")
        let src = work.root + "/mercurial-\(MercurialSdist.version)"
        let cache = work.root + "/cache"
        let client = try await SyncHarness.connect()
        defer { client.close() }
        let first = try await SyncHarness.sync(client, src, to: dst.root, cache: cache)
        #expect(first.filesSent > 2000, "\(first.line)")
        #expect(try TreeFixture(root: dst.root).hashWalk() == TreeFixture(root: src).hashWalk())
        let noop = try await SyncHarness.sync(client, src, to: dst.root, cache: cache)
        #expect(noop.filesSent == 0 && noop.deleted == 0 && noop.remoteHashed == 0, "\(noop.line)")
        let edited = src + "/mercurial/commands.py"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: edited))
        handle.seekToEndOfFile()
        handle.write(Data("\n# edited\n".utf8))
        try handle.close()
        let one = try await SyncHarness.sync(client, src, to: dst.root, cache: cache)
        #expect(one.filesSent == 1 && one.deleted == 0, "\(one.line)")
        #expect(FileIO.readWhole(dst.root + "/mercurial/commands.py", limit: 1 << 24) == FileIO.readWhole(edited, limit: 1 << 24))
    }

    @Test("the CLI: usage errors exit 64; a local sync prints one summary line per target")
    func cli() throws {
        let automation = try BuiltProducts.automation()
        let src = try TreeFixture.temporary("src"), dst = try TreeFixture.temporary("dst"), state = try TreeFixture.temporary("state")
        defer { src.remove(); dst.remove(); state.remove() }
        src.write(Array("a".utf8), [1, 2, 3])
        src.write(Array("skip.pyc".utf8), [1])
        let relative = try SyncHarness.run([automation, "sync", src.root, "--to", "relative/dest"])
        #expect(relative.status == 64 && relative.stderr.contains("absolute"), "\(relative.stderr)")
        let rootDest = try SyncHarness.run([automation, "sync", src.root, "--to", "/"])
        #expect(rootDest.status == 64, "\(rootDest.stderr)")
        let missing = try SyncHarness.run([automation, "sync", src.root + "/nope", "--to", dst.root, "--state-path", state.root])
        #expect(missing.status == 64 && missing.stderr.contains("not a directory"), "\(missing.stderr)")
        let ok = try SyncHarness.run([automation, "sync", src.root, "--to", dst.root + "/d", "--exclude", "*.pyc", "--state-path", state.root])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("local: 1 files sent (3 B), 0 deleted"), "\(ok.stdout)")
        #expect(FileIO.readWhole(dst.root + "/d/a", limit: 10) == [1, 2, 3])
        #expect(!FileManager.default.fileExists(atPath: dst.root + "/d/skip.pyc"))
        let home = try SyncHarness.run([automation, "sync", src.root, "--to", NSHomeDirectory(), "--state-path", state.root])
        #expect(home.status == 255 && home.stderr.contains("home directory"), "\(home.stderr)")
    }
}

/// The Mercurial sdist the runner tests use (PyPI, cached per machine).
enum MercurialSdist {
    static let version = "7.2.4"
    static let cache = ProcessInfo.processInfo.environment["AUTOMATION_TEST_CACHE"] ?? "/var/tmp/automation-test-cache"

    static func tarball() throws -> String {
        let path = "\(cache)/mercurial-\(version).tar.gz"
        if FileManager.default.fileExists(atPath: path) { return path }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let pip = try SyncHarness.run(["/usr/bin/python3", "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                                       "mercurial==\(version)", "-d", cache])
        guard pip.status == 0, FileManager.default.fileExists(atPath: path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "pip download mercurial failed: \(pip.stderr)"])
        }
        return path
    }
}
