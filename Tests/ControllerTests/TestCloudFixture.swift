import Foundation
import Testing
import TestSupport

/// deploy/testcloud: moto for the API and a network-namespace machine per instance,
/// brought up for one test and removed after it, whatever the test did.
final class TestCloudFixture: @unchecked Sendable {
    let directory: URL
    /// The `export` lines of `up`, as an environment for the controller.
    let environment: [String: String]

    /// For `.requires(TestCloudFixture.requirement)`: root and the tools the simulated cloud needs.
    static let requirement = Requirement("needs root, iproute2, util-linux, debootstrap (or its cache) and python3 with moto[server]") { runnable }

    /// Whether this machine has them (checked when a test asks).
    static var runnable: Bool {
        guard getuid() == 0, RunTestsHarness.which("ip") != nil, RunTestsHarness.which("unshare") != nil else { return false }
        let cached = FileManager.default.fileExists(atPath: "/var/cache/automation/rootfs")
        return (cached || RunTestsHarness.which("debootstrap") != nil)
            && RunTestsHarness.shell(["python3", "-c", "import moto.moto_server.threaded_moto_server, boto3"]).status == 0
    }

    static let script = RunTestsHarness.repoRoot.appendingPathComponent("deploy/testcloud")

    private init(directory: URL, environment: [String: String]) {
        self.directory = directory
        self.environment = environment
    }

    /// `environment` goes to the cloud itself (moto's settings).
    static func with<T>(environment cloudEnvironment: [String: String] = [:], _ body: (TestCloudFixture) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("testcloud-\(UUID().uuidString.prefix(8))")
        let up = await RunTestsHarness.shellOffPool([script.appendingPathComponent("up").path, directory.path], env: cloudEnvironment)
        guard up.status == 0 else {
            _ = await RunTestsHarness.shellOffPool([script.appendingPathComponent("down").path, directory.path])
            throw HarnessError("deploy/testcloud/up failed (\(up.status)):\n\(up.output)")
        }
        var environment: [String: String] = [:]
        for line in up.output.split(separator: "\n") where line.hasPrefix("export ") {
            let assignment = line.dropFirst("export ".count)
            guard let equals = assignment.firstIndex(of: "=") else { continue }
            environment[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        let fixture = TestCloudFixture(directory: directory, environment: environment)
        do {
            let result = try await body(fixture)
            await fixture.down()
            return result
        } catch {
            await fixture.down()
            throw error
        }
    }

    func down() async {
        _ = await RunTestsHarness.shellOffPool([Self.script.appendingPathComponent("down").path, directory.path])
    }

    /// Machines the simulated cloud runs now (one directory per live instance).
    var machines: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("machines").path)) ?? []
    }

    /// Waits (bounded) until the cloud has removed every machine, as it does within a second of termination.
    func waitUntilNoMachines(hangGuard: Double = 60) async throws -> Bool {
        await eventually(within: hangGuard, every: .milliseconds(200)) { machines.isEmpty }
    }

    /// Runs Python `code` with `ec2`, a boto3 EC2 client of the cloud's first region; its output.
    func ec2(_ code: String) async throws -> String {
        let script = """
            import boto3, os
            ec2 = boto3.client("ec2", region_name=os.environ["AWS_REGION"], endpoint_url=os.environ["AWS_ENDPOINT_URL"])
            """ + "\n" + code
        let result = await RunTestsHarness.shellOffPool(["python3", "-c", script], env: environment)
        guard result.status == 0 else { throw HarnessError("boto3 failed (\(result.status)): \(result.output)") }
        return result.output
    }

    /// Every instance moto knows in the cloud's first region, with its state (`running`, `terminated`, …).
    func instanceStates() async throws -> [String: String] {
        let output = try await ec2("""
            for page in ec2.get_paginator("describe_instances").paginate():
                for reservation in page["Reservations"]:
                    for instance in reservation["Instances"]:
                        print(instance["InstanceId"], instance["State"]["Name"])
            """)
        var states: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2 { states[String(fields[0])] = String(fields[1]) }
        }
        return states
    }

    /// The directory of a live instance's machine (its disk is `upper` there).
    func machineDirectory(_ instanceId: String) -> URL {
        directory.appendingPathComponent("machines").appendingPathComponent(instanceId)
    }

    /// Runs `command` (sh) as root inside an instance's machine: its namespaces, its root file system.
    func runInMachine(_ instanceId: String, _ command: String) async throws -> (status: Int32, output: String) {
        let dir = machineDirectory(instanceId)
        let unshare = try String(contentsOf: dir.appendingPathComponent("pid"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // The machine's first process is unshare's only child.
        let children = try String(contentsOfFile: "/proc/\(unshare)/task/\(unshare)/children", encoding: .utf8)
        let first = try #require(children.split(separator: " ").first.map(String.init), "machine \(instanceId) has no process")
        return await RunTestsHarness.shellOffPool(["nsenter", "-t", first, "-m", "-p", "-u", "-n",
                                                   "chroot", dir.appendingPathComponent("root").path, "/bin/sh", "-c", command])
    }

    /// The testcloud's log, for failure messages.
    var log: String { (try? String(contentsOf: directory.appendingPathComponent("testcloud.log"), encoding: .utf8)) ?? "" }
}
