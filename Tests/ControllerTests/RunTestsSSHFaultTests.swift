import Foundation
import Testing
import TestSupport

/// Faults on an SSH target (a private sshd alone in a network namespace,
/// reached through a TCP proxy that can stall or cut the connection) next
/// to a local slot: every test is accounted for exactly once, nothing hangs.
@Suite("run-tests SSH faults", .serialized, .requires(FaultSSHHost.namespaces))
struct RunTestsSSHFaultTests {
    /// One test's setting: harness, sshd, proxy, a unique agent, a suite of `count` tests.
    struct Rig {
        let harness: RunTestsHarness
        let host: FaultSSHHost
        let proxy: FaultProxy
        let agent: UniqueAgent
        let suite: RunTestsFaultTests.Suite
        let json: URL

        init(count: Int) throws {
            guard FaultSSHHost.namespacesAvailable else {
                throw HarnessError("the namespace host fixture needs root, /usr/sbin/sshd and ip (apt-get install openssh-server iproute2)")
            }
            let harness = try RunTestsHarness()
            self.harness = harness
            var host: FaultSSHHost?
            var proxy: FaultProxy?
            do {
                host = try FaultSSHHost(in: harness, namespace: true)
                proxy = try FaultProxy(upstreamHost: host!.address, upstreamPort: host!.port)
                agent = try UniqueAgent(in: harness)
                suite = try RunTestsFaultTests.Suite(in: harness, count: count)
                // The test user runs the suite's scripts.
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: harness.scratch.path)
            } catch {
                // Nothing is left running when the rig cannot be built.
                proxy?.stop()
                host?.stop()
                harness.cleanUp()
                throw error
            }
            self.host = host!
            self.proxy = proxy!
            json = harness.scratch.appendingPathComponent("r.jsonl")
        }

        func start(lostAfter: Double, sleep: Double, extra: [String] = []) throws -> RunTestsHarness.Running {
            try harness.start(suite.arguments + ["--target", "local:1"] + host.targetArguments(port: proxy.port, slots: 1) + [
                "--agent-binary", agent.path, "--agent-idle-timeout", "60", "--lost-after", String(lostAfter),
                "--workdir", "/tmp", "--json-report", json.path, "--env", "FAULT_SLEEP=\(sleep)",
            ] + extra, env: ["FAULT_SLEEP": String(sleep)])
        }

        /// Each test passed exactly once (none lost, none duplicated).
        func passedOnce() throws -> Bool {
            let passed = try RunTestsHarness.events(json).filter { $0["status"] as? String == "pass" }.compactMap { $0["test"] as? String }
            return passed.sorted() == (0..<suite.count).map { String(format: "t%02d", $0) }
        }

        /// What a result from the SSH slot looks like on stdout.
        var remoteMarker: String { "[127.0.0.1#" }

        func remoteResults(_ running: RunTestsHarness.Running) -> Int {
            running.stdoutSoFar.components(separatedBy: "[127.0.0.1#").count - 1
        }

        func waitForRemoteResults(_ running: RunTestsHarness.Running, _ count: Int) async throws {
            _ = await eventually(within: 300) { !running.process.isRunning || remoteResults(running) >= count }
        }

        func tearDown() {
            // A lost target keeps its scratch directory (nobody is left to remove it); here the "remote" is this machine.
            let runs = harness.state.appendingPathComponent("runs/faults").path
            for runID in (try? FileManager.default.contentsOfDirectory(atPath: runs)) ?? [] {
                try? FileManager.default.removeItem(atPath: "/tmp/automation-run-\(runID)-t1")
            }
            agent.killAll()
            proxy.stop()
            for pid in host.connectionPids() { kill(pid, SIGCONT) }
            host.stop()
            harness.cleanUp()
        }
    }

    @Test("a 10 s partition shorter than --lost-after heals: the run resumes, nothing is re-run or lost, the stall is not a duration",
          arguments: ["proxy pause", "link down"])
    func partitionHeals(_ how: String) async throws {
        let rig = try Rig(count: 16)
        defer { rig.tearDown() }
        let running = try rig.start(lostAfter: 30, sleep: 1)
        let proxy = rig.proxy, host = rig.host, remote = rig.remoteMarker
        // The whole partition on the injecting thread: a starved test task must not stretch it past --lost-after.
        let partitioned = await running.inject(when: { $0.contains(remote) }) {
            if how == "link down" {
                // The namespace host's veth goes down: packets vanish at the network layer.
                host.setLink(up: false)
                Thread.sleep(forTimeInterval: 10)
                host.setLink(up: true)
            } else {
                try? proxy.send("pause")
                Thread.sleep(forTimeInterval: 10)
                try? proxy.send("resume")
            }
        }
        try #require(partitioned, "the run ended before the partition: \(running.soFar)")
        let result = try await running.wait(hangGuard: 300)
        #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(!result.stderr.contains("lost"))
        #expect(result.stdout.split(separator: "\n").last == "16 passed, 0 failed, 0 skipped")
        #expect(try rig.passedOnce())
        let events = try RunTestsHarness.events(rig.json)
        #expect(events.allSatisfy { ($0["attempt"] as? Int) == 1 }, "nothing re-run")
        let store = rig.harness.state.appendingPathComponent("durations/faults/command.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: store)) as? [String: Any]
        let tests = try #require((object?["tests"] as? [String: Any])?["tests"] as? [String: [Double]])
        // Each test takes 1 s; one measured across the 10 s stall would show as 10 s or more.
        #expect(tests.values.allSatisfy { $0.allSatisfy { $0 < 5 } }, "a stall entered the durations: \(tests)")
    }

    @Test("a stopped sshd (SIGSTOP) loses the target within --lost-after; its tests run on the local slot; exit 3")
    func stoppedSSHD() async throws {
        let rig = try Rig(count: 12)
        defer { rig.tearDown() }
        // Long enough tests that the run is still going when the fault comes, however loaded the machine.
        let running = try rig.start(lostAfter: 4, sleep: 2)
        let host = rig.host, remote = rig.remoteMarker
        let connections = Locked<[Int32]>([])
        let injected = await running.inject(when: { $0.contains(remote) }) {
            let pids = host.connectionPids()
            connections.set(pids)
            for pid in pids { kill(pid, SIGSTOP) }
        }
        let stopped = connections.value
        try #require(injected && !stopped.isEmpty, "no sshd connection to stop: \(running.soFar)")
        let result = try await running.wait(hangGuard: 120)
        for pid in stopped { kill(pid, SIGCONT) }
        #expect(result.status == 3, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.contains("no answer to a ping for 4 s"))
        #expect(result.stdout.contains("lost targets (1): ssh://"))
        #expect(result.stdout.split(separator: "\n").last == "12 passed, 0 failed, 0 skipped")
        #expect(try rig.passedOnce())
    }

    @Test("a stopped agent (SIGSTOP) over SSH is declared lost; exit 3, nothing lost or duplicated")
    func stoppedRemoteAgent() async throws {
        let rig = try Rig(count: 12)
        defer { rig.tearDown() }
        let running = try rig.start(lostAfter: 4, sleep: 2)
        let agent = rig.agent, remote = rig.remoteMarker
        let stopped = Locked<[Int32]>([])
        let injected = await running.inject(when: { $0.contains(remote) }) {
            let pids = agent.pids()
            stopped.set(pids)
            for pid in pids { kill(pid, SIGSTOP) }
        }
        try #require(injected, "the run ended before the fault: \(running.soFar)")
        let agents = stopped.value
        #expect(agents.count == 1)
        let result = try await running.wait(hangGuard: 120)
        #expect(result.status == 3, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.contains("no answer to a ping"))
        #expect(result.stdout.split(separator: "\n").last == "12 passed, 0 failed, 0 skipped")
        #expect(try rig.passedOnce())
    }

    @Test("a connection killed mid-run (twice) is resumed: nothing re-run, nothing lost or duplicated; exit 0")
    func connectionKilledResumes() async throws {
        // Long enough that the SSH slot reports three results even when a loaded
        // machine slows the first resume down while the local slot works on.
        let rig = try Rig(count: 24)
        defer { rig.tearDown() }
        let running = try rig.start(lostAfter: 30, sleep: 1.5)
        let proxy = rig.proxy, remote = rig.remoteMarker
        let remoteResults: @Sendable (String) -> Int = { $0.components(separatedBy: remote).count - 1 }
        // Killed while a test runs on the SSH slot, then again after the resumed session reported more.
        let first = await running.inject(when: { remoteResults($0) >= 1 }) { try? proxy.send("kill") }
        try #require(first, "the run ended before the first fault: \(running.soFar)")
        let second = await running.inject(when: { remoteResults($0) >= 3 }) { try? proxy.send("kill") }
        try #require(second, "the run ended before the second fault: \(running.soFar)")
        let result = try await running.wait(hangGuard: 300)
        #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.components(separatedBy: "reconnected to ssh://").count - 1 == 2, "\(result.stderr)")
        #expect(!result.stderr.contains("lost"), "\(result.stderr)")
        #expect(!result.stdout.contains("lost targets"))
        #expect(result.stdout.split(separator: "\n").last == "24 passed, 0 failed, 0 skipped")
        #expect(try rig.passedOnce())
        let events = try RunTestsHarness.events(rig.json)
        #expect(events.allSatisfy { ($0["attempt"] as? Int) == 1 }, "a test ran again: \(events)")
    }

    @Test("a killed agent loses the target at once (its session is gone); its tests run on the local slot; exit 3")
    func agentKilled() async throws {
        let rig = try Rig(count: 12)
        defer { rig.tearDown() }
        let running = try rig.start(lostAfter: 30, sleep: 1)
        let agent = rig.agent, remote = rig.remoteMarker
        let injected = await running.inject(when: { $0.contains(remote) }) {
            for pid in agent.pids() { kill(pid, SIGKILL) }
        }
        try #require(injected, "the run ended before the fault: \(running.soFar)")
        let result = try await running.wait(hangGuard: 120)
        #expect(result.status == 3, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.contains("lost slot 127.0.0.1#"))
        #expect(result.stderr.contains("the session is gone"), "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").last == "12 passed, 0 failed, 0 skipped")
        #expect(try rig.passedOnce())
    }

    @Test("a killed agent's running test dies with it: its re-run on the local slot never overlaps a live copy")
    func agentKilledNoOverlap() async throws {
        let rig = try Rig(count: 12)
        defer { rig.tearDown() }
        let log = rig.harness.scratch.appendingPathComponent("copies.log")
        // Both the test user (the SSH slot) and this user (the local slot) append to it.
        FileManager.default.createFile(atPath: log.path, contents: nil, attributes: [.posixPermissions: 0o666])
        let running = try rig.start(lostAfter: 30, sleep: 4, extra: ["--env", "FAULT_LOG=\(log.path)"])
        let agent = rig.agent, remote = rig.remoteMarker
        // A result from the SSH slot, and its next test under way there: then the agent is killed.
        let injected = await running.inject(when: { $0.contains(remote) }) {
            usleep(500_000)
            for pid in agent.pids() { kill(pid, SIGKILL) }
        }
        try #require(injected, "the run ended before the fault: \(running.soFar)")
        let result = try await running.wait(hangGuard: 180)
        #expect(result.status == 3, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(try rig.passedOnce())
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        let starts = lines.filter { $0.hasPrefix("start ") }.map { $0.split(separator: " ")[1] }
        #expect(Set(starts).count < starts.count, "no test was started twice (the kill hit no running test): \(lines)")
        #expect(!lines.contains { $0.hasPrefix("overlap ") }, "a re-run started while the killed agent's copy still ran: \(lines)")
    }

    @Test("Ctrl-C over SSH: the first collects and removes both targets' scratch directories; exit 130")
    func interruptOverSSH() async throws {
        let rig = try Rig(count: 12)
        defer { rig.tearDown() }
        let running = try rig.start(lostAfter: 30, sleep: 1)
        try await rig.waitForRemoteResults(running, 1)
        kill(running.process.processIdentifier, SIGINT)
        let result = try await running.wait(hangGuard: 120)
        #expect(result.status == 130, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").last?.hasSuffix("not run") == true)
        let runDir = try #require(RunTestsFaultTests.runDirectory(result.stdout))
        let runID = URL(fileURLWithPath: runDir).lastPathComponent
        for target in 0..<2 {
            #expect(!FileManager.default.fileExists(atPath: "/tmp/automation-run-\(runID)-t\(target)"), "scratch of target \(target) left behind")
        }
    }

    @Test("Ctrl-C while the SSH connection hangs (partitioned before the handshake): exit 130 at once")
    func interruptWhileConnecting() async throws {
        let rig = try Rig(count: 2)
        defer { rig.tearDown() }
        try rig.proxy.send("pause")
        let running = try rig.start(lostAfter: 30, sleep: 0.1)
        try await Task.sleep(for: .seconds(2))
        kill(running.process.processIdentifier, SIGINT)
        let result = try await running.wait(hangGuard: 30)
        #expect(result.status == 130, "stderr: \(result.stderr)")
        try rig.proxy.send("resume")
    }

    @Test("a full disk on the SSH host: its slot is quarantined and its tests pass on the local slot")
    func remoteDiskFull() async throws {
        let rig = try Rig(count: 10)
        defer { rig.tearDown() }
        // A real ENOSPC: a 1 MiB tmpfs, filled, that only the SSH user's tests write to.
        let full = rig.harness.scratch.appendingPathComponent("full").path
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        let mounted = RunTestsHarness.shell(["/usr/bin/mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", full])
        try #require(mounted.status == 0, "mount: \(mounted.output)")
        defer { RunTestsHarness.shell(["/usr/bin/umount", full]) }
        RunTestsHarness.shell(["/usr/bin/dd", "if=/dev/zero", "of=\(full)/filler", "bs=64k", "count=64"])
        let script = rig.suite.dir.appendingPathComponent("test")
        try """
            #!/bin/sh
            if [ "$(id -un)" = "\(rig.host.user)" ]; then
                echo data > "\(full)/$1.out" || exit 1
            fi
            sleep 1.5
            """.write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        // A first run on the local slot alone records the tests' usual 1.5 s.
        let first = try await rig.harness.run(rig.suite.arguments + ["--target", "local:1"])
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let running = try rig.start(lostAfter: 30, sleep: 1.5)
        let result = try await running.wait(hangGuard: 300)
        #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.contains("quarantined slot 127.0.0.1#1"))
        let events = try RunTestsHarness.events(rig.json)
        #expect(events.contains { $0["status"] as? String == "fail" && $0["infrastructure"] as? Bool == true && ($0["slot"] as? String)?.hasPrefix("127.0.0.1") == true })
        #expect(result.stdout.split(separator: "\n").last == "10 passed, 0 failed, 0 skipped")
    }
}
