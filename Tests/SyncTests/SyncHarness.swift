import AgentProtocol
import Foundation
import Logging
import Testing
import TestSupport
@testable import AutomationKit
@testable import SyncCore

/// Runs syncs through a real `automation-agent --stdio`, the way the CLI does.
enum SyncHarness {
    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }

    /// Root, to mount a tmpfs or a bind mount for a test.
    static let mounts = Requirement("needs root to mount a tmpfs or a bind mount") { getuid() == 0 }

    static func connect() async throws -> AgentClient {
        try await LocalAgent.connect(binary: try BuiltProducts.agent(), logger: logger)
    }

    /// One sync of `src` (a plain tree, or its own selection) into `dest`.
    @discardableResult
    static func sync(_ client: AgentClient, _ src: String, to dest: String, selection: SourceSelection? = nil, excludes: [String] = [],
                     small: Bool = false, cache: String? = nil) async throws -> SyncSummary {
        let selection = try selection ?? SourceSelection.resolve(source: src, cwd: "/", includeVCS: false)
        let tree = try await SourceTree.scan(selection, excludes: ExcludeRules(excludes), cacheDirectory: cache)
        var sync = TargetSync(target: "local", client: client, destination: dest)
        if small {
            // Tiny limits, so that a test tree exercises pieces, several batches and the pipeline.
            sync.limits = BatchBuilder.Limits(batchBytes: 16 * 1024, smallFile: 8 * 1024, chunk: 4 * 1024)
            sync.maxInFlight = 3
        }
        return try await sync.run(tree)
    }

    static func run(_ argv: [String], cwd: String? = nil, environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errData = DataReader(err)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData.wait(), as: UTF8.self))
    }

    static func shell(_ command: String, cwd: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(["/bin/sh", "-c", command], cwd: cwd)
    }
}

/// Reads a pipe to its end on a thread of its own.
final class DataReader: @unchecked Sendable {
    private var data = Data()
    private let group = DispatchGroup()

    init(_ pipe: Pipe) {
        DispatchQueue.global().async(group: group) { self.data = pipe.fileHandleForReading.readDataToEndOfFile() }
    }

    func wait() -> Data {
        group.wait()
        return data
    }
}
