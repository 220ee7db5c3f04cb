import AgentProtocol
import Foundation
import Glibc
import Testing
import TestSupport

/// Issue 12: `fs.remove` refused `/` by comparing strings, so `/tmp/..`, `//`
/// and `/.` passed; run as root in a chroot it deleted the jail's /etc, and it
/// crossed into other filesystems. Now the kernel resolves the path and the
/// removal stops at mounts.
@Suite("fs.remove never reaches / or home and never crosses a mount", .timeLimit(.minutes(5)))
struct SafeRemovalTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "agent-rm-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Mount namespaces need root and unshare (util-linux); under CI=true their absence fails.
    static let mountNamespaces = Requirement("needs root and unshare (util-linux)") {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func json(_ path: String) -> String {
        String(decoding: try! JSONEncoder().encode(path), as: UTF8.self)
    }

    @Test("the agent user's home itself is refused, however it is named; its contents stay")
    func homeIsRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = "\(root)/home"
        try FileManager.default.createDirectory(atPath: "\(home)/project", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(home)/.profile", contents: Data("keep".utf8))
        try FileManager.default.createSymbolicLink(atPath: "\(root)/alias", withDestinationPath: root)
        let agent = try RawAgent(environment: ["HOME": home])
        _ = agent.hello()
        for (index, path) in [home, home + "/", "\(root)//home", "\(root)/alias/home"].enumerated() {
            let reply = try #require(agent.request(UInt64(index + 1), "fs.remove", #"{"path":\#(json(path)),"recursive":true}"#))
            #expect(reply.errorCode == "permission_denied", "\(path): \(reply)")
        }
        #expect(exists("\(home)/.profile") && exists("\(home)/project"))
        // Inside home is fine.
        let inside = try #require(agent.request(9, "fs.remove", #"{"path":\#(json(home + "/project")),"recursive":true}"#))
        #expect(inside.errorCode == nil, "\(inside)")
        #expect(!exists("\(home)/project"))
    }

    @Test("a symbolic link to / is removed as a link; dot components are refused")
    func linksAndDots() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createSymbolicLink(atPath: "\(root)/to-slash", withDestinationPath: "/")
        try FileManager.default.createDirectory(atPath: "\(root)/d", withIntermediateDirectories: true)
        let agent = try RawAgent()
        _ = agent.hello()
        let link = try #require(agent.request(1, "fs.remove", #"{"path":\#(json(root + "/to-slash")),"recursive":true}"#))
        #expect(link.errorCode == nil, "\(link)")
        #expect(exists("/etc") && !exists("\(root)/to-slash"))
        for (index, path) in ["\(root)/to-slash/..", "\(root)/d/..", "\(root)/d/.", "/tmp/..", "//", "/."].enumerated() {
            let reply = try #require(agent.request(UInt64(10 + index), "fs.remove", #"{"path":\#(json(path)),"recursive":true}"#))
            #expect(reply.errorCode == "invalid_field", "\(path): \(reply)")
        }
        #expect(exists("\(root)/d"))
    }

    @Test("as root in a mount namespace: a tmpfs, a bind mount and / itself inside the tree are not crossed",
          .requires(mountNamespaces))
    func mountsAreNotCrossed() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        for dir in ["tmpfs-tree/sub/mnt", "bind-tree/mnt", "outside", "root-tree/slash"] {
            try fm.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        fm.createFile(atPath: "\(root)/outside/precious", contents: Data("keep".utf8))
        fm.createFile(atPath: "\(root)/bind-tree/removable", contents: Data())
        // The mounts exist only in the agent's private mount namespace.
        let script = """
            set -e
            mount -t tmpfs none "$R/tmpfs-tree/sub/mnt"
            echo keep > "$R/tmpfs-tree/sub/mnt/keep"
            mount --bind "$R/outside" "$R/bind-tree/mnt"
            mount --bind / "$R/root-tree/slash"
            exec "$0" "$@"
            """
        let agent = try RawAgent(launcher: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
                                 environment: ["R": root])
        #expect(agent.hello()?["type"] as? String == "hello")
        let tmpfs = try #require(agent.request(1, "fs.remove", #"{"path":\#(json(root + "/tmpfs-tree")),"recursive":true}"#))
        #expect(tmpfs.errorCode == "permission_denied", "\(tmpfs)")
        let kept = try #require(agent.request(2, "fs.stat", #"{"path":\#(json(root + "/tmpfs-tree/sub/mnt/keep"))}"#))
        #expect(kept.errorCode == nil, "the tmpfs was emptied: \(kept)")

        let bind = try #require(agent.request(3, "fs.remove", #"{"path":\#(json(root + "/bind-tree")),"recursive":true}"#))
        #expect(bind.errorCode == "permission_denied", "\(bind)")
        #expect(exists("\(root)/outside/precious"), "the removal went through the bind mount")

        let slash = try #require(agent.request(4, "fs.remove", #"{"path":\#(json(root + "/root-tree/slash")),"recursive":true}"#))
        #expect(slash.errorCode == "permission_denied", "\(slash)")
        let viaParent = try #require(agent.request(5, "fs.remove", #"{"path":\#(json(root + "/root-tree")),"recursive":true}"#))
        #expect(viaParent.errorCode == "permission_denied", "\(viaParent)")
        #expect(exists("/etc/passwd") && exists("\(root)/outside/precious"))
        agent.closeInput()
        agent.process.waitUntilExit()
    }
}
