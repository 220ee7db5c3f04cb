import Foundation
import Logging
import SSH
import Testing
import TestSupport

@Suite("SSH session against a real sshd", .serialized)
struct SSHSessionTests {
    @Test(.requires(.sshd)) func execRunsACommandAndReportsItsStatus() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let session = try await sshd.connect()
            defer { session.close() }
            let result = try await session.execute("echo hello; echo oops >&2; exit 3")
            #expect(result.output == "hello\n")
            #expect(String(decoding: result.stderr, as: UTF8.self) == "oops\n")
            #expect(result.exitStatus == 3)
        }
    }

    @Test(.requires(.sshd)) func ecdsaKeyLogsIn() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let session = try await sshd.connect(key: sshd.ecdsaKey)
            defer { session.close() }
            #expect(try await session.execute("true").exitStatus == 0)
        }
    }

    @Test(.requires(.sshd)) func wrongPinnedHostKeyIsRefusedWithBothFingerprints() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let wrong = "SHA256:" + String(repeating: "A", count: 43)
            var configuration = try sshd.configuration()
            configuration.hostKeyPolicy = HostKeyPolicy(pinnedFingerprints: [wrong], knownHosts: nil)
            let error = await #expect(throws: SSHError.self) {
                _ = try await SSHSession.connect(to: sshd.endpoint, configuration: configuration, logger: Logger(label: "test"))
            }
            #expect(error?.code == .hostKeyMismatch)
            #expect(error?.message.contains(wrong) == true)
            #expect(error?.message.contains(try sshd.hostKeyFingerprint()) == true)
        }
    }

    @Test(.requires(.sshd)) func knownHostsAreStrictUnlessAcceptNewAndMismatchIsRefused() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let state = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString.prefix(8))").path
            defer { try? FileManager.default.removeItem(atPath: state) }
            let store = KnownHostsStore(stateDirectory: state)
            var configuration = try sshd.configuration()
            configuration.hostKeyPolicy = HostKeyPolicy(knownHosts: store)

            let unknown = await #expect(throws: SSHError.self) {
                _ = try await SSHSession.connect(to: sshd.endpoint, configuration: configuration, logger: Logger(label: "test"))
            }
            #expect(unknown?.code == .hostKeyUnknown)
            #expect(unknown?.message.contains(try sshd.hostKeyFingerprint()) == true)
            #expect(unknown?.message.contains("--accept-new-host-key") == true)

            configuration.hostKeyPolicy.acceptNew = true
            try await SSHSession.connect(to: sshd.endpoint, configuration: configuration, logger: Logger(label: "test")).close()
            #expect(try store.keys(host: "127.0.0.1", port: sshd.port).map(\.fingerprint) == [try sshd.hostKeyFingerprint()])

            // Strict mode now passes with the recorded key.
            configuration.hostKeyPolicy.acceptNew = false
            try await SSHSession.connect(to: sshd.endpoint, configuration: configuration, logger: Logger(label: "test")).close()

            // A different recorded key is a mismatch, even with accept-new.
            let other = try SSHHostKey(openSSH: String(contentsOfFile: sshd.strangerKey + ".pub", encoding: .utf8))!
            try store.replace(host: "127.0.0.1", port: sshd.port, with: other)
            configuration.hostKeyPolicy.acceptNew = true
            let mismatch = await #expect(throws: SSHError.self) {
                _ = try await SSHSession.connect(to: sshd.endpoint, configuration: configuration, logger: Logger(label: "test"))
            }
            #expect(mismatch?.code == .hostKeyMismatch)
            #expect(mismatch?.message.contains(other.fingerprint) == true)
            #expect(mismatch?.message.contains(try sshd.hostKeyFingerprint()) == true)
        }
    }

    @Test(.requires(.sshd)) func wrongClientKeyIsRefusedAndTheAttemptListed() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let error = await #expect(throws: SSHError.self) { _ = try await sshd.connect(key: sshd.strangerKey) }
            #expect(error?.code == .authenticationFailed)
            #expect(error?.message.contains(sshd.strangerKey) == true)
            #expect(error?.message.contains("rejected") == true)
        }
    }

    @Test(.requires(.sshd)) func rsaKeyGetsTheExplainedError() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let error = await #expect(throws: SSHError.self) { _ = try await sshd.connect(key: sshd.rsaKey) }
            #expect(error?.code == .unsupportedKey)
            #expect(error?.message.contains("rsa-sha2") == true || error?.message.contains("RSA") == true)
            #expect(error?.message.contains("ed25519") == true)
        }
    }

    @Test func refusedPortFailsFastWithAClearMessage() async throws {
        let endpoint = SSHEndpoint(user: "nobody", host: "127.0.0.1", port: 1)
        var configuration = SSHConfiguration(hostKeyPolicy: HostKeyPolicy(knownHosts: nil), authMethods: [])
        configuration.connectTimeout = .seconds(2)
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHSession.connect(to: endpoint, configuration: configuration, logger: Logger(label: "test"))
        }
        #expect(error?.code == .connectFailed)
        #expect(error?.message.contains("refused") == true)
    }

    @Test func silentHostFailsWithinTheTimeout() async throws {
        // A listener that accepts but never speaks SSH: the handshake must time out.
        let listener = try SilentListener()
        defer { listener.close() }
        let endpoint = SSHEndpoint(user: "nobody", host: "127.0.0.1", port: listener.port)
        var configuration = SSHConfiguration(hostKeyPolicy: HostKeyPolicy(knownHosts: nil), authMethods: [])
        configuration.handshakeTimeout = .milliseconds(700)
        let start = ContinuousClock.now
        let error = await #expect(throws: SSHError.self) {
            _ = try await SSHSession.connect(to: endpoint, configuration: configuration, logger: Logger(label: "test"))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .timedOut)
        #expect(error?.message.contains("handshake") == true)
        #expect(elapsed < .seconds(30), "the handshake timeout, not a hang: \(elapsed)")
    }

    @Test(.requires(.sshd)) func sftpRoundTripKeepsContentAndMode() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let session = try await sshd.connect()
            defer { session.close() }
            let sftp = try await session.openSFTP()
            let local = FileManager.default.temporaryDirectory.appendingPathComponent("sftp-\(UUID().uuidString.prefix(8))").path
            defer { try? FileManager.default.removeItem(atPath: local); try? FileManager.default.removeItem(atPath: local + ".back") }
            var bytes = [UInt8](repeating: 0, count: 3_000_001)
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 7) }
            FileManager.default.createFile(atPath: local, contents: Data(bytes))
            try await sftp.makeDirectories("sftp-test/nested")
            try await sftp.upload(from: local, to: "sftp-test/nested/file", mode: 0o750)
            let info = try #require(try await sftp.stat("sftp-test/nested/file"))
            #expect(info.size == UInt64(bytes.count))
            #expect(info.permissions & 0o777 == 0o750)
            try await sftp.download(from: "sftp-test/nested/file", to: local + ".back")
            #expect(FileManager.default.contents(atPath: local + ".back") == Data(bytes))
            #expect(try await sftp.stat("sftp-test/missing") == nil)
            #expect(try await sftp.realPath(".") == sshd.home)
            try await sftp.remove("sftp-test/nested/file")
            _ = try await session.execute("rm -rf sftp-test")
        }
    }

    @Test(.requires(.sshd)) func killingTheConnectionFailsPendingWorkPromptly() async throws {
        try SSHDFixture.require()
        try await SSHDFixture.with { sshd in
            let session = try await sshd.connect()
            defer { session.close() }
            let before = ContinuousClock.now
            let pending = Task { try await session.execute("sleep 30") }
            try await Task.sleep(for: .milliseconds(300))
            for pid in try sshd.connectionPids() { kill(pid, SIGKILL) }
            let error = await #expect(throws: SSHError.self) { _ = try await pending.value }
            #expect(error?.isTransportFailure == true)
            #expect(ContinuousClock.now - before < .seconds(30), "promptly, not after TCP_USER_TIMEOUT (45 s) or never")
            let after = await #expect(throws: SSHError.self) { _ = try await session.execute("true") }
            #expect(after?.isTransportFailure == true)
        }
    }
}

/// A TCP listener on loopback that accepts connections and never writes.
final class SilentListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw FixtureError("cannot listen") }
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) } }
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
