import AgentProtocol
import AutomationKit
import Foundation
import Logging
import Testing
import TestSupport

/// Starts the real agent binary for tests.
enum AgentHarness {
    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }

    /// A session with a fresh `automation-agent --stdio`.
    static func connect() async throws -> AgentClient {
        try await LocalAgent.connect(binary: try BuiltProducts.agent(), logger: logger)
    }

    static func withAgent<T>(_ body: (AgentClient) async throws -> T) async throws -> T {
        let client = try await connect()
        defer { client.close() }
        return try await body(client)
    }

    /// Peak and current resident memory of a process, in KiB.
    static func memory(pid: Int32) -> (peak: Int, current: Int)? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
                .flatMap { Int($0) }
        }
        guard let peak = field("VmHWM"), let current = field("VmRSS") else { return nil }
        return (peak, current)
    }

    /// Whether a pid names a live (non-zombie) process.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }
}

extension ExecParams {
    static func shell(_ script: String) -> ExecParams {
        ExecParams(argv: ["/bin/sh", "-c", script])
    }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
