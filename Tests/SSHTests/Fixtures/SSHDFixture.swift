import Foundation
import Logging
import SSH
import Testing
import TestSupport

/// A private OpenSSH sshd on loopback (deploy/testhost/sshd.sh): own config,
/// host keys, client keys and authorized_keys in a temporary directory, a
/// dedicated test user whose shell is /bin/sh. Stopped by pid when the test
/// body returns or throws.
final class SSHDFixture: @unchecked Sendable {
    let directory: String
    let port: Int
    let user: String
    /// The address sshd listens on: loopback, or the namespace side of a veth pair.
    let host: String
    /// The network namespace this sshd runs in, for multi-host fixtures.
    let namespace: String?
    private var stopped = false

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var script: String { repositoryRoot + "/deploy/testhost/sshd.sh" }

    /// Whether the machine can run the fixture.
    static var ready: Bool { Requirement.sshd.isMet }

    /// Throws (failing the test) when the fixture cannot run.
    static func require() throws { try Requirement.sshd.require() }

    private init(directory: String, port: Int, user: String, host: String = "127.0.0.1", namespace: String? = nil) {
        self.directory = directory
        self.port = port
        self.user = user
        self.host = host
        self.namespace = namespace
    }

    static var netnsScript: String { repositoryRoot + "/deploy/testhost/netns.sh" }

    /// Starts an sshd inside a new network namespace reached over a veth pair
    /// (deploy/testhost/netns.sh); `stop` deletes the namespace.
    static func startInNamespace(index: Int) throws -> SSHDFixture {
        let name = "at\(index)"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sshd-netns-\(index)-\(UUID().uuidString.prefix(6))").path
        let output: String
        do {
            output = try run([netnsScript, "up", name, String(index), directory])
        } catch {
            _ = try? run([netnsScript, "down", name, directory])
            throw error
        }
        var fields: [String: String] = [:]
        for pair in output.split(whereSeparator: \.isWhitespace) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard let address = fields["address"], let port = fields["port"].flatMap(Int.init), let user = fields["user"] else {
            throw FixtureError("netns.sh printed: \(output)")
        }
        return SSHDFixture(directory: directory, port: port, user: user, host: address, namespace: name)
    }

    /// Starts an sshd, runs `body`, and stops it whatever happens.
    static func with<T>(logLevel: String = "DEBUG1", _ body: (SSHDFixture) async throws -> T) async throws -> T {
        let fixture = try start(logLevel: logLevel)
        defer { fixture.stop() }
        return try await body(fixture)
    }

    static func start(logLevel: String = "DEBUG1") throws -> SSHDFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sshd-fixture-\(UUID().uuidString.prefix(8))").path
        let output = try run([script, "start", directory, logLevel])
        guard let portText = output.split(separator: " ").first(where: { $0.hasPrefix("port=") })?.dropFirst(5),
              let port = Int(portText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw FixtureError("sshd.sh printed no port: \(output)")
        }
        let user = try String(contentsOfFile: directory + "/user", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return SSHDFixture(directory: directory, port: port, user: user)
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        if let namespace {
            _ = try? SSHDFixture.run([SSHDFixture.netnsScript, "down", namespace, directory])
        } else {
            _ = try? SSHDFixture.run([SSHDFixture.script, "stop", directory])
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    var endpoint: SSHEndpoint { SSHEndpoint(user: user, host: host, port: port) }
    var clientKey: String { directory + "/id_ed25519" }
    var ecdsaKey: String { directory + "/id_ecdsa" }
    var rsaKey: String { directory + "/id_rsa" }
    var strangerKey: String { directory + "/id_stranger" }
    var logPath: String { directory + "/sshd.log" }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    /// The user's home directory on the "remote" host.
    var home: String { FileManager.default.homeDirectory(forUser: user)?.path ?? "/home/\(user)" }

    /// The fixture's ed25519 host key fingerprint, computed by ssh-keygen.
    func hostKeyFingerprint() throws -> String {
        let output = try SSHDFixture.run(["/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", directory + "/ssh_host_ed25519_key.pub"])
        return String(output.split(separator: " ")[1])
    }

    /// A configuration pinned to the fixture's host key, authenticating with the ed25519 client key.
    func configuration(key: String? = nil) throws -> SSHConfiguration {
        var configuration = SSHConfiguration(
            hostKeyPolicy: HostKeyPolicy(pinnedFingerprints: [try hostKeyFingerprint()], knownHosts: nil),
            authMethods: [.privateKeyFile(path: key ?? clientKey)])
        configuration.connectTimeout = .seconds(5)
        configuration.handshakeTimeout = .seconds(5)
        configuration.operationTimeout = .seconds(10)
        return configuration
    }

    func connect(key: String? = nil) async throws -> SSHSession {
        try await SSHSession.connect(to: endpoint, configuration: configuration(key: key), logger: Logger(label: "test"))
    }

    /// Number of `exec` channel requests the server has logged so far.
    var execRequestCount: Int {
        log.components(separatedBy: "\n").filter { $0.contains("request exec") }.count
    }

    /// Pids of the per-connection sshd processes: the privileged monitor under
    /// the listener and the unprivileged process under it that holds the socket.
    func connectionPids() throws -> [Int32] {
        let pid = try String(contentsOfFile: directory + "/sshd.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var result: [Int32] = []
        var parents = [pid]
        while let parent = parents.popLast() {
            let output = (try? SSHDFixture.run(["/usr/bin/ps", "-o", "pid=,comm=", "--ppid", parent])) ?? ""
            for line in output.split(separator: "\n") {
                let fields = line.split(whereSeparator: \.isWhitespace)
                guard fields.count >= 2, fields[1].hasPrefix("sshd"), let child = Int32(fields[0]) else { continue }
                result.append(child)
                parents.append(String(child))
            }
        }
        return result
    }

    @discardableResult
    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        if let environment { process.environment = environment }
        let pipe = Pipe()
        let errors = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        let errorOutput = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError("\(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(String(decoding: errorOutput, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
