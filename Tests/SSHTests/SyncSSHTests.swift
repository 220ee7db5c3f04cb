import Foundation
import Glibc
import SyncCore
import Testing
import TestSupport

/// `automation sync` to a real sshd: the CLI, the SSH tunnel and the deployed
/// static agent, compared by a hash walk after every step.
@Suite("sync over SSH", .serialized, .timeLimit(.minutes(10)))
struct SyncSSHTests {
    static func walk(_ root: String) throws -> Manifest {
        var cache = ScanCache()
        var options = TreeScanner.Options()
        options.racyWindowNs = Int64.max / 2
        options.reservedRootNames = [SyncRoot.markerName]
        return try TreeScanner.scan(root: root, options: options, cache: &cache).0
    }

    static func path(_ root: String, _ name: [UInt8]) -> [CChar] {
        (Array(root.utf8) + [UInt8(ascii: "/")] + name + [0]).map { CChar(bitPattern: $0) }
    }

    static func write(_ root: String, _ name: [UInt8], _ data: [UInt8], mode: mode_t = 0o644) {
        let fd = open(path(root, name), O_WRONLY | O_CREAT | O_TRUNC, mode)
        _ = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)
        close(fd)
    }

    @Test("random-ish edits incl. non-UTF-8 names, modes, type changes and links arrive byte for byte", .requires(.sshd))
    func editsOverSSH() async throws {
        try await AgentHostFixture.with(logLevel: "INFO") { fixture in
            let sshd = fixture.sshd
            let automation = try BuiltProducts.automation()
            try FileManager.default.createDirectory(atPath: fixture.stateDirectory, withIntermediateDirectories: true)
            // An agent of its own (unique hash): other suites deploy to the same test user concurrently.
            let own = fixture.stateDirectory + "/agent-own"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: BuiltProducts.agent()))
            bytes.append(contentsOf: Array("sync-\(UUID().uuidString)".utf8))
            FileManager.default.createFile(atPath: own, contents: bytes, attributes: [.posixPermissions: 0o755])
            let src = fixture.stateDirectory + "/src"
            let dest = sshd.home + "/sync-test-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: dest) }
            try FileManager.default.createDirectory(atPath: src + "/dir/sub", withIntermediateDirectories: true)
            let sync = [automation, "sync", src, "--to", dest, "--target", "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)",
                        "--identity", sshd.clientKey, "--host-key", try sshd.hostKeyFingerprint(),
                        "--state-path", fixture.stateDirectory, "--agent-binary", own,
                        // Agents started through the CLI end by this idle timeout, not when the test ends.
                        "--agent-idle-timeout", "15"]
            func syncAndCompare(_ step: String) throws {
                let result = try CLI.run(sync)
                #expect(result.status == 0, "\(step): \(result.stderr)")
                #expect(try Self.walk(dest) == Self.walk(src), "\(step)")
                let again = try CLI.run(sync)
                #expect(again.status == 0 && again.stdout.contains(": 0 files sent (0 B), 0 deleted, 0 other changes"), "\(step) no-op: \(again.stdout) \(again.stderr)")
            }
            var big = [UInt8](repeating: 0, count: 2_500_000)
            for i in big.indices { big[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 7) }
            Self.write(src, Array("big.bin".utf8), big)
            Self.write(src, [0xff, 0xfe, 0x41], Array("latin-1 name".utf8))
            Self.write(src, Array("new\nline".utf8), Array("newline in the name".utf8))
            Self.write(src, Array("dir/run.sh".utf8), Array("#!/bin/sh\n".utf8), mode: 0o755)
            Self.write(src, Array("dir/sub/x".utf8), Array("x".utf8), mode: 0o600)
            symlink("../big.bin", src + "/dir/link")
            symlink("/nonexistent/target", src + "/dangling")
            chmod(src + "/dir/sub", 0o750)
            try syncAndCompare("first sync")

            big[1_000_000] ^= 0xff
            Self.write(src, Array("big.bin".utf8), big)
            chmod(src + "/dir/run.sh", 0o700)
            unlink(src + "/dir/link")
            mkdir(src + "/dir/link", 0o755)  // symlink -> directory
            Self.write(src, Array("dir/link/inside".utf8), Array("i".utf8))
            try FileManager.default.removeItem(atPath: src + "/dir/sub")
            symlink("run.sh", src + "/dir/sub")  // directory -> symlink
            try syncAndCompare("edits and type changes")

            try FileManager.default.removeItem(atPath: src + "/dir")
            Self.write(src, Array("dir".utf8), Array("now a file".utf8))  // directory tree -> file
            rename(src + "/big.bin", src + "/renamed.bin")
            try syncAndCompare("tree to file, rename")

            // A DEST outside the agent user's reach is a clear error naming it, exit 255.
            var denied = sync
            denied[denied.firstIndex(of: dest)!] = "/root/sync-denied-\(UUID().uuidString.prefix(8))"
            let refused = try CLI.run(denied)
            #expect(refused.status == 255 && refused.stderr.contains("Permission denied") && refused.stderr.contains("/root/sync-denied-"),
                    "\(refused.stderr)")
        }
    }

    @Test("issue 21 finding 1 over SSH: a symlinked DEST is refused; below a symlinked parent a populated unmarked DEST is refused until --adopt", .requires(.sshd))
    func symlinkedDestinationOverSSH() async throws {
        try await AgentHostFixture.with(logLevel: "INFO") { fixture in
            let sshd = fixture.sshd
            let automation = try BuiltProducts.automation()
            try FileManager.default.createDirectory(atPath: fixture.stateDirectory, withIntermediateDirectories: true)
            let own = fixture.stateDirectory + "/agent-own"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: BuiltProducts.agent()))
            bytes.append(contentsOf: Array("sync-link-\(UUID().uuidString)".utf8))
            FileManager.default.createFile(atPath: own, contents: bytes, attributes: [.posixPermissions: 0o755])
            let src = fixture.stateDirectory + "/src"
            try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
            Self.write(src, Array("only".utf8), Array("from the source".utf8))
            // Made as the SSH user would see them: in its home, owned by the test (root) but readable.
            let base = sshd.home + "/sync-link-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: base) }
            let victim = base + "/victim"
            try FileManager.default.createDirectory(atPath: victim + "/dest", withIntermediateDirectories: true)
            for name in ["a", "b", "dest/c", "dest/d"] { Self.write(victim, Array(name.utf8), Array("keep".utf8)) }
            symlink(victim, base + "/link")
            symlink(victim, base + "/plink")
            let all = try FileManager.default.subpathsOfDirectory(atPath: victim).sorted()
            _ = try CLI.run(["/bin/chown", "-R", sshd.user, base])
            func sync(_ dest: String, _ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
                let result = try CLI.run([automation, "sync", src, "--to", dest, "--target", "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)",
                                          "--identity", sshd.clientKey, "--host-key", try sshd.hostKeyFingerprint(),
                                          "--state-path", fixture.stateDirectory, "--agent-binary", own, "--agent-idle-timeout", "15"] + extra)
                return (result.status, result.stdout, result.stderr)
            }
            let link = try sync(base + "/link")
            #expect(link.status == 255 && link.stderr.contains("symbolic link"), "\(link.stdout) \(link.stderr)")
            let parent = try sync(base + "/plink/dest")
            #expect(parent.status == 255 && parent.stderr.contains(victim + "/dest") && parent.stderr.contains("--adopt"), "\(parent.stdout) \(parent.stderr)")
            #expect(try FileManager.default.subpathsOfDirectory(atPath: victim).sorted() == all, "nothing changed behind the links")
            let adopted = try sync(base + "/plink/dest", ["--adopt"])
            #expect(adopted.status == 0 && adopted.stdout.contains("2 deleted"), "\(adopted.stdout) \(adopted.stderr)")
            #expect(try Self.walk(victim + "/dest") == Self.walk(src))
            #expect(FileManager.default.fileExists(atPath: victim + "/a"), "the link's other content is untouched")
        }
    }
}
