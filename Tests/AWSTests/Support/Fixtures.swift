import Foundation
import TestSupport

/// Paths and availability checks shared by the AWS tests.
enum Fixtures {
    /// The repository root, found from this file's location.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var deployDirectory: URL { repoRoot.appendingPathComponent("deploy/aws") }
    static var motoAMIs: String { deployDirectory.appendingPathComponent("moto-amis.json").path }

    static let python3: String? = {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/python3"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    /// True when python3 can import moto's server and botocore.
    static let motoAvailable: Bool = {
        guard let python3 else { return false }
        return (try? runPython(python3, ["-c", "import moto.moto_server.threaded_moto_server, botocore, flask"]))?.status == 0
    }()

    /// For `.requires(Fixtures.moto)`: tests that need moto run when it is installed,
    /// are skipped with this reason when it is not, and fail under CI=true.
    static let moto = Requirement("python3 with moto[server] is not installed (pip install 'moto[server]')") { motoAvailable }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("aws-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @discardableResult
    static func runPython(_ python: String, _ arguments: [String], stdin: Data = Data()) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}
