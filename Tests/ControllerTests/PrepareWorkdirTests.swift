import Foundation
import Testing
import TestSupport

/// `automation prepare-workdir` on this machine through the local agent (as
/// root), on loop files and tmpfs under a temporary mount point: never the
/// machine's own /hgwork. Each mount is undone when the test ends, and a
/// loop mount frees its loop device when unmounted.
@Suite("prepare-workdir on loop devices")
struct PrepareWorkdirTests {
    /// Root, mount and findmnt; with CI=true a missing piece fails the test.
    static let ready = Requirement("needs root, mount and findmnt (util-linux)") {
        getuid() == 0 && RunTestsHarness.which("mount") != nil && RunTestsHarness.which("findmnt") != nil
    }

    static let owner = "automation-test"

    struct Scratch {
        let harness: RunTestsHarness
        let mountPoint: String
        let loopFile: String

        init() throws {
            guard getuid() == 0 else { throw HarnessError("prepare-workdir tests need root (mount, mkfs)") }
            if RunTestsHarness.shell(["id", PrepareWorkdirTests.owner]).status != 0 {
                let made = RunTestsHarness.shell(["useradd", "--system", "--create-home", "--shell", "/bin/sh", PrepareWorkdirTests.owner])
                guard made.status == 0 else { throw HarnessError("cannot create \(PrepareWorkdirTests.owner): \(made.output)") }
            }
            harness = try RunTestsHarness()
            mountPoint = harness.scratch.appendingPathComponent("hgwork").path
            loopFile = harness.scratch.appendingPathComponent("hgwork.img").path
        }

        func prepare(_ filesystem: String, size: String = "320M") async throws -> RunTestsHarness.Outcome {
            try await harness.run(["prepare-workdir", "--target", "local", "--filesystem", filesystem, "--size", size,
                                   "--mount-point", mountPoint, "--loop-file", loopFile, "--owner", PrepareWorkdirTests.owner])
        }

        var mountedType: String {
            RunTestsHarness.shell(["findmnt", "-n", "-o", "FSTYPE", "--mountpoint", mountPoint]).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func cleanUp() {
            while RunTestsHarness.shell(["mountpoint", "-q", mountPoint]).status == 0 {
                guard RunTestsHarness.shell(["umount", mountPoint]).status == 0 else { break }
            }
            harness.cleanUp()
        }
    }

    @Test("makes and mounts the filesystem owned by the user, and a second run changes nothing",
          .requires(ready), arguments: ["ext3", "ext4", "xfs", "btrfs", "tmpfs"])
    func mountsFilesystem(_ filesystem: String) async throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let first = try await scratch.prepare(filesystem)
        #expect(first.status == 0, "stdout: \(first.stdout)\nstderr: \(first.stderr)")
        #expect(scratch.mountedType == filesystem)
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.mountPoint)
        #expect(attributes[.ownerAccountName] as? String == Self.owner)
        #expect(FileManager.default.fileExists(atPath: scratch.mountPoint + "/tmp"))
        // The owner can write there.
        let write = RunTestsHarness.shell(["runuser", "-u", Self.owner, "--", "touch", scratch.mountPoint + "/tmp/x"])
        #expect(write.status == 0, "\(write.output)")

        let second = try await scratch.prepare(filesystem)
        #expect(second.status == 0, "stderr: \(second.stderr)")
        #expect(second.stdout.contains("ok (already \(filesystem))"), "\(second.stdout)")
        #expect(!second.stdout.contains("made "), "a second run made a filesystem again: \(second.stdout)")
        #expect(FileManager.default.fileExists(atPath: scratch.mountPoint + "/tmp/x"), "the second run lost the first one's content")
    }

    @Test("jfs, which this kernel cannot mount, is refused with a clear message before anything changes",
          .requires(ready))
    func refusesJFS() async throws {
        let grep = RunTestsHarness.shell(["grep", "-qw", "jfs", "/proc/filesystems"])
        try #require(grep.status != 0, "this kernel mounts jfs; the refusal cannot be shown here")
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let result = try await scratch.prepare("jfs")
        #expect(result.status == 1)
        #expect(result.stderr.contains("this kernel cannot mount jfs"), "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.contains("prepare-workdir.sh exited with status 1"))
        #expect(!FileManager.default.fileExists(atPath: scratch.mountPoint), "the refusal created the mount point")
        #expect(!FileManager.default.fileExists(atPath: scratch.loopFile), "the refusal created the loop file")
    }

    @Test("a mount point holding another filesystem is refused, and kept", .requires(ready))
    func refusesOtherFilesystem() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let first = try await scratch.prepare("tmpfs")
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await scratch.prepare("ext4")
        #expect(second.status == 1)
        #expect(second.stderr.contains("already a tmpfs mount; unmount it first"), "\(second.stdout) \(second.stderr)")
        #expect(scratch.mountedType == "tmpfs")
    }
}
