import AgentProtocol
import AutomationKit
import Foundation
import Testing
import TestSupport

@Suite("fs operations through the real agent", .timeLimit(.minutes(5)))
struct FileOperationTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "agent-fs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func code(_ body: () async throws -> Void) async -> ProtocolError.Code? {
        do {
            try await body()
            return nil
        } catch let error as AgentClientError {
            return error.remote?.code
        } catch {
            return ProtocolError.Code("unexpected: \(error)")
        }
    }

    @Test("mkdir -p, atomic write with mode, read, stat, list")
    func writeReadStatList() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await AgentHarness.withAgent { agent in
            try await agent.mkdir("\(root)/a/b/c", mode: 0o750)
            try await agent.mkdir("\(root)/a/b/c")  // existing directory: fine
            let content = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
            try await agent.write("\(root)/a/b/c/file", data: content, mode: 0o640)
            let info = try await agent.stat("\(root)/a/b/c/file")
            #expect(info.kind == .file && info.size == 3_000_000 && info.mode == 0o640)
            #expect(try await agent.readAll("\(root)/a/b/c/file") == content)
            let slice = try await agent.read("\(root)/a/b/c/file", offset: 10, length: 5)
            #expect([UInt8](slice.data) == Array(content[10..<15]) && slice.size == 3_000_000)
            // Overwrite is atomic: a new inode replaces the old, no temp file left behind.
            try await agent.write("\(root)/a/b/c/file", data: Array("new".utf8))
            #expect(try await agent.readAll("\(root)/a/b/c/file") == Array("new".utf8))
            try await agent.symlink(target: "file", at: "\(root)/a/b/c/link")
            let entries = try await agent.list("\(root)/a/b/c")
            #expect(entries.map(\.name) == ["file", "link"])
            #expect(entries[1].kind == .symlink && entries[1].target == "file")
            #expect(try await agent.stat("\(root)/a/b/c/link", noFollow: false).kind == .file)
            #expect(try await agent.stat("\(root)/a").mode == 0o750)
        }
    }

    @Test("chmod and chown by numeric id")
    func chmodChown() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await AgentHarness.withAgent { agent in
            try await agent.write("\(root)/f", data: [1])
            try await agent.chmod("\(root)/f", mode: 0o4711)
            #expect(try await agent.stat("\(root)/f").mode == 0o4711)
            if getuid() == 0 {
                try await agent.chown("\(root)/f", uid: 4321, gid: 8765)
                let info = try await agent.stat("\(root)/f")
                #expect(info.uid == 4321 && info.gid == 8765)
            } else {
                #expect(await code { try await agent.chown("\(root)/f", uid: 0, gid: 0) } == .permissionDenied)
            }
        }
    }

    @Test("recursive remove stays inside the tree")
    func removeDoesNotFollowLinks() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await AgentHarness.withAgent { agent in
            try await agent.mkdir("\(root)/outside")
            try await agent.write("\(root)/outside/keep", data: [1])
            try await agent.mkdir("\(root)/tree/sub/deeper")
            try await agent.write("\(root)/tree/sub/deeper/x", data: [2])
            try await agent.symlink(target: "\(root)/outside", at: "\(root)/tree/sub/escape")
            #expect(await code { try await agent.remove("\(root)/tree") } == .notEmpty)
            try await agent.remove("\(root)/tree", recursive: true)
            #expect(await code { _ = try await agent.stat("\(root)/tree") } == .notFound)
            #expect(try await agent.readAll("\(root)/outside/keep") == [1])
            try await agent.remove("\(root)/tree", recursive: true, missingOK: true)
        }
    }

    @Test("missing paths and wrong kinds give stable codes")
    func errorCodes() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await AgentHarness.withAgent { agent in
            try await agent.write("\(root)/file", data: [1])
            #expect(await code { _ = try await agent.stat("\(root)/missing") } == .notFound)
            #expect(await code { _ = try await agent.read("\(root)/missing") } == .notFound)
            #expect(await code { _ = try await agent.list("\(root)/missing") } == .notFound)
            #expect(await code { try await agent.remove("\(root)/missing") } == .notFound)
            #expect(await code { try await agent.chmod("\(root)/missing", mode: 0o600) } == .notFound)
            #expect(await code { try await agent.mkdir("\(root)/file") } == .notADirectory)
            #expect(await code { try await agent.mkdir("\(root)/file/sub") } == .notADirectory)
            #expect(await code { _ = try await agent.read(root) } == .isADirectory)
            #expect(await code { _ = try await agent.list("\(root)/file") } == .notADirectory)
            #expect(await code { try await agent.write("\(root)/nodir/f", data: [1]) } == .notFound)
            #expect(await code { try await agent.symlink(target: "x", at: "\(root)/file") } == .exists)
            #expect(await code { _ = try await agent.stat("relative") } == .invalidField)
            try await agent.ping()
        }
    }

    @Test("permission errors, with the agent running as an unprivileged user")
    func permissionDenied() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Root bypasses permission checks, so drop to nobody for this one.
        let client: AgentClient
        if getuid() == 0 {
            let setpriv = "/usr/bin/setpriv"
            try #require(FileManager.default.isExecutableFile(atPath: setpriv), "setpriv (util-linux) is needed to drop privileges")
            client = try await LocalAgent.connect(command: [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", try BuiltProducts.agent()], logger: AgentHarness.logger)
        } else {
            client = try await AgentHarness.connect()
        }
        defer { client.close() }
        let locked = "\(root)/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Data([1]).write(to: URL(fileURLWithPath: "\(locked)/secret"))
        if getuid() != 0 {
            try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: locked)
        }
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: locked) }
        #expect(await code { _ = try await client.read("\(locked)/secret") } == .permissionDenied)
        #expect(await code { try await client.write("\(locked)/new", data: [1]) } == .permissionDenied)
        #expect(await code { _ = try await client.list(locked) } == .permissionDenied)
        #expect(await code { try await client.mkdir("\(locked)/d") } == .permissionDenied)
        #expect(await code { try await client.remove("\(locked)/secret") } == .permissionDenied)
        try await client.ping()
    }
}
