import AgentProtocol
import ArgumentParser
import Foundation
import Logging
import SSH

/// `automation ssh-bench`: latency and throughput of one SSH target, measured
/// inside one process so that nothing but the path under test is timed
/// (Benchmarks/ssh/run.sh compares it with OpenSSH's own tools).
struct SSHBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh-bench",
        abstract: "Benchmark an ssh:// target: deploy, tunnel round trips, exec, SFTP.",
        shouldDisplay: false
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: TargetOptions

    @Option(help: "Round trips for ping and exec.")
    var count = 1000

    @Option(help: "Size of the SFTP upload in MiB (0 skips it).")
    var uploadMiB = 100

    @Option(help: "SFTP write size in KiB.")
    var writeKiB = 1024

    /// Bounded so that no size computed from them can overflow.
    mutating func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count takes 1 to 1000000, got \(count)") }
        guard (0...65_536).contains(uploadMiB) else { throw ValidationError("--upload-mi-b takes 0 to 65536, got \(uploadMiB)") }
        guard (1...65_536).contains(writeKiB) else { throw ValidationError("--write-ki-b takes 1 to 65536, got \(writeKiB)") }
    }

    func run() async throws {
        let logger = global.makeLogger()
        try await CommandRunner.run(logger: logger) {
            guard case .ssh(let address)? = try targets.specs().first else {
                throw UsageError("ssh-bench needs --target ssh://…")
            }
            let endpoint = try SSHTargets.endpoint(address)
            let configuration = SSHTargetConfiguration(
                options: targets.ssh, agentBinary: try AgentBinary.locate(explicit: targets.agentBinary), state: global.state)
            var rows: [(String, String)] = []

            // First connect + deploy + first reply: remove the remote binary first.
            let digest = try AgentBinaryHash.sha256(of: configuration.agentBinary, stateDirectory: configuration.stateDirectory)
            do {
                let session = try await SSHSession.connect(to: endpoint, configuration: configuration.ssh, logger: logger)
                try await session.openSFTP().remove("\(AgentDeployer.directory)/agent-\(digest)")
                session.close()
            }
            var start = ContinuousClock.now
            var host = try await RemoteAgentHost.start(endpoint, configuration: configuration, logger: logger)
            var client = try await host.openClient()
            try await client.ping()
            let cold = ContinuousClock.now - start
            rows.append(("first connect + upload + start + first reply", cold.formattedMillis))
            rows.append(("  (agent binary size)", "\(((try? FileManager.default.attributesOfItem(atPath: configuration.agentBinary)[.size] as? Int) ?? 0) / 1024) KiB"))
            client.close()
            host.close()

            var warm: [Duration] = []
            for _ in 0..<10 {
                start = ContinuousClock.now
                host = try await RemoteAgentHost.start(endpoint, configuration: configuration, logger: logger)
                client = try await host.openClient()
                try await client.ping()
                warm.append(ContinuousClock.now - start)
                client.close()
                host.close()
            }
            rows.append(("cached redeploy (connect + start + first reply), p50 of 10", LatencyStats(warm).p50.formattedMillis))

            // Where a cached redeploy spends its time.
            var phases: [(String, [Duration])] = [("connect: TCP + handshake + auth", []), ("SFTP open + stat", []), ("exec 'true' (channel open + exec + close)", [])]
            for _ in 0..<10 {
                var t = ContinuousClock.now
                let session = try await SSHSession.connect(to: endpoint, configuration: configuration.ssh, logger: logger)
                phases[0].1.append(ContinuousClock.now - t)
                t = ContinuousClock.now
                _ = try await session.openSFTP().stat("\(AgentDeployer.directory)/agent-\(digest)")
                phases[1].1.append(ContinuousClock.now - t)
                t = ContinuousClock.now
                _ = try await session.execute("true")
                phases[2].1.append(ContinuousClock.now - t)
                session.close()
            }
            for (name, samples) in phases { rows.append(("  \(name), p50", LatencyStats(samples).p50.formattedMillis)) }

            host = try await RemoteAgentHost.start(endpoint, configuration: configuration, logger: logger)
            defer { host.close() }
            client = try await host.openClient()
            start = ContinuousClock.now
            let extra = try await host.openClient()
            rows.append(("new agent session on the held connection", (ContinuousClock.now - start).formattedMillis))
            extra.close()

            var samples: [Duration] = []
            for _ in 0..<100 { try await client.ping() }
            for _ in 0..<count {
                let t = ContinuousClock.now
                try await client.ping()
                samples.append(ContinuousClock.now - t)
            }
            var stats = LatencyStats(samples)
            rows.append(("ping through the tunnel, p50 / p99", "\(stats.p50.formattedMillis) / \(stats.p99.formattedMillis)"))

            samples.removeAll()
            let trueParams = ExecParams(argv: ["/bin/true"])
            for _ in 0..<50 { _ = try await client.run(trueParams) }
            for _ in 0..<count {
                let t = ContinuousClock.now
                _ = try await client.run(trueParams)
                samples.append(ContinuousClock.now - t)
            }
            stats = LatencyStats(samples)
            rows.append(("exec /bin/true through the agent, p50 / p99", "\(stats.p50.formattedMillis) / \(stats.p99.formattedMillis)"))

            samples.removeAll()
            for _ in 0..<min(count, 200) {
                let t = ContinuousClock.now
                _ = try await host.session.execute("true")
                samples.append(ContinuousClock.now - t)
            }
            stats = LatencyStats(samples)
            rows.append(("libssh2 exec channel 'true' on the held session, p50 / p99", "\(stats.p50.formattedMillis) / \(stats.p99.formattedMillis)"))

            if uploadMiB > 0 {
                let local = FileManager.default.temporaryDirectory.appendingPathComponent("ssh-bench-\(getpid())").path
                defer { unlink(local) }
                let fd = open(local, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                var block = [UInt8](repeating: 0, count: 1 << 20)
                for i in 0..<uploadMiB {
                    for j in stride(from: 0, to: block.count, by: 64) { block[j] = UInt8(truncatingIfNeeded: i &+ j &* 31) }
                    _ = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                }
                close(fd)
                let sftp = try await host.session.openSFTP()
                start = ContinuousClock.now
                try await sftp.upload(from: local, to: "ssh-bench-upload", chunkSize: writeKiB * 1024)
                let elapsed = ContinuousClock.now - start
                try await sftp.remove("ssh-bench-upload")
                let seconds = Double(elapsed.microseconds) / 1e6
                rows.append(("SFTP upload \(uploadMiB) MiB (\(writeKiB) KiB writes)", String(format: "%.2f s, %.0f MB/s", seconds, Double(uploadMiB) * 1.048576 / seconds)))
            }
            client.close()
            for (name, value) in rows { print("\(name)\t\(value)") }
            return 0
        }
    }
}

extension Duration {
    var formattedMillis: String { String(format: "%.3f ms", Double(microseconds) / 1000) }
}
