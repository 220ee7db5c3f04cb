import Foundation
import Testing
import TestSupport

/// Runs the built `automation` binary: what a user sees on stdout, stderr and in the exit code.
enum CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try BuiltProducts.automation())
        p.arguments = arguments
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// A clean environment: no AWS variables from the developer's shell, no metadata service.
    static func environment(home: URL, _ extra: [String: String] = [:]) -> [String: String] {
        var env = ["HOME": home.path, "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"]
        for (k, v) in extra { env[k] = v }
        return env
    }
}

@Suite("automation aws commands")
struct CLITests {
    @Test("missing credentials: exit 255 and a message saying where it looked")
    func missingCredentials() throws {
        let home = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        let r = try CLI.run(["aws", "whoami", "--aws-endpoint-url", "http://127.0.0.1:1"], environment: CLI.environment(home: home))
        #expect(r.status == 255)
        #expect(r.stderr.contains("automation: error: no AWS credentials found. Looked in:"))
        #expect(r.stderr.contains("\(home.path)/.aws/credentials"))
        #expect(!r.stderr.contains("Fatal error"))
    }

    @Test("usage errors exit 64")
    func usageErrors() throws {
        let home = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        #expect(try CLI.run(["aws", "launch", "--ttl", "soon"], environment: CLI.environment(home: home)).status == 64)
        #expect(try CLI.run(["aws", "launch", "--ssh-cidr", "10.0.0.1"], environment: CLI.environment(home: home)).status == 64)
        #expect(try CLI.run(["purge-ec2-resources", "--namespace", "Bad Name"], environment: CLI.environment(home: home)).status == 64)
    }

    @Test("invalid credentials: the AWS error code and where the keys came from",
          .requires(Fixtures.moto))
    func invalidCredentials() async throws {
        let home = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        try await withMoto(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "0"]) { moto in
            let env = CLI.environment(home: home, ["AWS_ACCESS_KEY_ID": "AKIANOTAREALKEY00000", "AWS_SECRET_ACCESS_KEY": "nope"])
            let r = try CLI.run(["aws", "whoami", "--aws-endpoint-url", moto.endpoint], environment: env)
            #expect(r.status == 255)
            #expect(r.stderr.contains("AWS sts GetCallerIdentity failed: InvalidClientTokenId"))
            #expect(r.stderr.contains("check the AWS credentials (from environment variables)"))
        }
    }

    @Test("whoami, launch, terminate --dry-run, purge and purge --dry-run end to end",
          .requires(Fixtures.moto))
    func launchTerminatePurge() async throws {
        let home = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let env = CLI.environment(home: home, ["AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": moto.endpoint])
            let state = ["--state-path", home.appendingPathComponent("state").path, "--aws-region", "us-east-1"]
            let who = try CLI.run(["aws", "whoami", "--json"], environment: env)
            #expect(who.status == 0)
            #expect(who.stdout.contains(#""account":"123456789012""#))
            #expect(who.stdout.contains(#""namespace":"moto""#))
            // Global options before the command name, as hgautomation users write them.
            let launch = try CLI.run(["--aws-region", "us-east-1", "--state-path", home.appendingPathComponent("state").path, "aws", "launch", "--count", "2", "--instance-type", "t3.micro",
                                              "--ssh-cidr", "192.0.2.10/32", "--ttl", "30m"], environment: env)
            #expect(launch.status == 0, "\(launch.stderr)")
            let lines = launch.stdout.split(separator: "\n")
            #expect(lines.count == 2)
            let fields = lines.map { $0.split(separator: "\t").map(String.init) }
            let ids = fields.map { $0[0] }
            #expect(ids.allSatisfy { $0.hasPrefix("i-") })
            #expect(fields.allSatisfy { $0.count == 4 && $0[2].hasPrefix("SHA256:") })
            // A ready --target per instance, as the distribution's login user.
            #expect(fields.allSatisfy { $0[3] == "--target ssh://admin@\($0[1])" })
            #expect(launch.stderr.contains("log in as admin with \(home.path)/state/aws/keys/moto/id_ed25519"))
            // Host keys are pinned where ssh:// targets read them, under the leading --state-path.
            let known = try String(contentsOfFile: home.path + "/state/known_hosts", encoding: .utf8)
            #expect(fields.allSatisfy { known.contains("\($0[1]) ssh-ed25519 ") })
            // Resources went to the region named before the command.
            #expect(FileManager.default.fileExists(atPath: home.path + "/state/aws/us-east-1/moto/account.json"))
            let dry = try CLI.run(["terminate-ec2-instances", "--dry-run"] + state, environment: env)
            #expect(Set(dry.stdout.split(separator: "\n").map { String($0.split(separator: " ")[3]) }) == Set(ids))
            let other = try CLI.run(["terminate-ec2-instances", "--dry-run", "--namespace", "someone-else"] + state, environment: env)
            #expect(other.stdout.isEmpty, "another namespace sees none of them")
            let gc = try CLI.run(["aws", "gc", "--dry-run"] + state, environment: env)
            #expect(gc.stdout.isEmpty, "nothing has expired yet")
            let purge = try CLI.run(["purge-ec2-resources"] + state, environment: env)
            #expect(purge.status == 0, "\(purge.stderr)")
            #expect(purge.stdout.contains("delete security-group"))
            #expect(purge.stdout.contains("delete iam-role hg-moto-ephemeral-ec2-role-1"))
            let again = try CLI.run(["purge-ec2-resources", "--dry-run"] + state, environment: env)
            #expect(again.stdout.isEmpty)
            #expect(again.stderr.contains("nothing to delete"))
        }
    }

    @Test("aws launch --spot: spot short by one, the rest on demand, each line says which and at what price; --json too",
          .requires(Fixtures.moto))
    func launchSpot() async throws {
        let home = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        try await withMoto(environment: TestClients.motoEnvironment) { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, ""], environment: ["FAULT_SPOT_CAPACITY": "1"])
            defer { proxy.stop() }
            let env = CLI.environment(home: home, ["AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": proxy.endpoint])
            let state = ["--state-path", home.appendingPathComponent("state").path, "--aws-region", "us-east-1", "--namespace", "spotter"]
            let launch = try CLI.run(["aws", "launch", "--count", "2", "--instance-type", "c5.9xlarge", "--spot", "--ssh-cidr", "192.0.2.10/32", "--json"] + state,
                                     environment: env)
            #expect(launch.status == 0, "\(launch.stderr)")
            #expect(launch.stderr.contains("2 instances: 1 spot, 1 on demand"), "\(launch.stderr)")
            #expect(launch.stderr.contains("spot fell short: InsufficientInstanceCapacity"), "\(launch.stderr)")
            #expect(launch.stderr.contains("spot in us-east-1") && launch.stderr.contains("$0.000010/h spot price at launch"), "\(launch.stderr)")
            #expect(launch.stderr.contains("c5.9xlarge on-demand") || launch.stderr.contains("c5d.9xlarge on-demand"), "\(launch.stderr)")
            let objects = try launch.stdout.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            #expect(objects.compactMap { $0["lifecycle"] as? String }.sorted() == ["on-demand", "spot"], "\(launch.stdout)")
            #expect(objects.allSatisfy { ["c5.9xlarge", "c5d.9xlarge", "c5n.9xlarge"].contains($0["instanceType"] as? String ?? "") })
            #expect(Set(objects.compactMap { $0["fingerprint"] as? String }).count == 1, "one host key per fleet launch")
            let terminate = try CLI.run(["terminate-ec2-instances"] + state, environment: env)
            #expect(terminate.status == 0, "\(terminate.stderr)")
            #expect(terminate.stdout.split(separator: "\n").count == 2, "\(terminate.stdout)")
            #expect(!terminate.stdout.contains("launch-template"), "the launch deleted its template: \(terminate.stdout)")
            _ = try CLI.run(["purge-ec2-resources"] + state, environment: env)
        }
    }
}
