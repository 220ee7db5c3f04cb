// Agent benchmarks (issue 3): round trips over stdio and the loopback listener,
// exec of /bin/true against spawning it directly, agent size, cold start and
// idle memory. Prints a Markdown table; docs/benchmarks.md records the results.
//
//   swift build -c release --product automation-bench
//   .build/release/automation-bench [--agent PATH] [--iterations N]
//   .build/release/automation-bench [--agent PATH] --burst 1000   (reply fairness, issue 12)
import AgentProtocol
import AutomationKit
import Foundation
import Glibc
import Logging

var agentPath: String?
var iterations = 5000
var burst: Int?
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    switch flag {
    case "--agent": agentPath = arguments.popFirst()
    case "--iterations": iterations = Int(arguments.popFirst() ?? "") ?? iterations
    case "--burst": burst = Int(arguments.popFirst() ?? "").flatMap { (1...10_000).contains($0) ? $0 : nil } ?? 1000
    default:
        FileHandle.standardError.write(Data("usage: automation-bench [--agent PATH] [--iterations N] [--burst N]\n".utf8))
        exit(64)
    }
}
let agent = try agentPath ?? AgentBinary.locate()
var logger = Logger(label: "bench")
logger.logLevel = .error
if let burst {
    try await printBurst(agent: agent, count: burst, rounds: 5, logger: logger)
    exit(0)
}

func measure(_ count: Int, _ body: () async throws -> Void) async throws -> LatencyStats {
    for _ in 0..<min(200, count / 10) { try await body() }  // warm-up
    var samples: [Duration] = []
    samples.reserveCapacity(count)
    for _ in 0..<count {
        let start = ContinuousClock.now
        try await body()
        samples.append(ContinuousClock.now - start)
    }
    return LatencyStats(samples)
}

func spawnTrue() {
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
    defer { argv.forEach { free($0) } }
    posix_spawn(&pid, "/bin/true", nil, nil, argv, environ)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
}

func startListener() throws -> (Process, UInt16, String) {
    let process = Process()
    let out = Pipe()
    process.executableURL = URL(fileURLWithPath: agent)
    process.arguments = ["serve", "--listen", "127.0.0.1:0", "--idle-timeout", "60"]
    process.standardOutput = out
    try process.run()
    var line = Data()
    while !line.contains(0x0A) { line += out.fileHandleForReading.availableData }
    let json = try JSONSerialization.jsonObject(with: line) as! [String: Any]
    return (process, (json["port"] as! NSNumber).uint16Value, json["token"] as! String)
}

func rssKiB(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
}

func us(_ d: Duration) -> String { String(format: "%.1f µs", Double(d.microseconds)) }

var rows: [(String, String, String)] = []

// Direct spawn: the floor for exec.
let direct = try await measure(iterations / 5) { spawnTrue() }
rows.append(("spawn /bin/true directly (posix_spawn + waitpid)", us(direct.p50), us(direct.p99)))

// Over stdio.
let stdio = try await LocalAgent.connect(binary: agent, logger: logger)
let stdioPing = try await measure(iterations) { try await stdio.ping() }
rows.append(("ping over stdio", us(stdioPing.p50), us(stdioPing.p99)))
let stdioExec = try await measure(iterations / 5) { _ = try await stdio.run(ExecParams(argv: ["/bin/true"])) }
rows.append(("exec /bin/true over stdio", us(stdioExec.p50), us(stdioExec.p99)))
let idleRSS = rssKiB(stdio.agentHello.pid)
stdio.close()

// Over the loopback listener (what the SSH tunnel reaches).
let (server, port, token) = try startListener()
let tcp = try await AgentClient.connect(transport: try TCPTransport.make(port: port), token: token, logger: logger)
let tcpPing = try await measure(iterations) { try await tcp.ping() }
rows.append(("ping over loopback TCP", us(tcpPing.p50), us(tcpPing.p99)))
let tcpExec = try await measure(iterations / 5) { _ = try await tcp.run(ExecParams(argv: ["/bin/true"])) }
rows.append(("exec /bin/true over loopback TCP", us(tcpExec.p50), us(tcpExec.p99)))
tcp.close()
server.terminate()
server.waitUntilExit()

// Cold start: spawn the agent, hello, first ping reply.
let cold = try await measure(200) {
    let client = try await LocalAgent.connect(binary: agent, logger: logger)
    try await client.ping()
    client.close()
}
rows.append(("cold start: spawn agent + hello + first ping", us(cold.p50), us(cold.p99)))

let size = (try FileManager.default.attributesOfItem(atPath: agent)[.size] as? NSNumber)?.intValue ?? 0
print("agent: \(agent)")
print("| measurement | p50 | p99 |")
print("|---|---|---|")
for (name, p50, p99) in rows { print("| \(name) | \(p50) | \(p99) |") }
print("")
print("| agent binary | idle RSS | exec overhead vs direct spawn (p50) |")
print("|---|---|---|")
print(String(format: "| %.1f MB | %.1f MB | %.2fx (stdio), %.2fx (TCP) |",
             Double(size) / 1_000_000, Double(idleRSS) / 1024,
             Double(stdioExec.p50.microseconds) / Double(max(1, direct.p50.microseconds)),
             Double(tcpExec.p50.microseconds) / Double(max(1, direct.p50.microseconds))))
