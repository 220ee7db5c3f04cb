import AutomationKit
import Foundation
import Testing
import TestSupport

/// The `automation` binary as a user runs it: output, messages, exit codes.
@Suite("automation exec and ping on the local target", .timeLimit(.minutes(5)))
struct CLITests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func automation(_ arguments: [String], stdin: Data? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try BuiltProducts.automation())
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["AUTOMATION_AGENT_BINARY"] = try BuiltProducts.agent()
        process.environment = environment
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so neither can fill up.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
    }

    @Test("the command's output and status come through unchanged")
    func passThrough() throws {
        let run = try automation(["exec", "--target", "local", "--", "sh", "-c", "echo out; echo err >&2; exit 7"])
        #expect(run.status == 7)
        #expect(run.stdout == "out\n")
        #expect(run.stderr == "err\n")
    }

    @Test("a signal becomes 128+N; not found 127; not runnable 126")
    func statuses() throws {
        #expect(try automation(["exec", "--", "sh", "-c", "kill -9 $$"]).status == 137)
        let missing = try automation(["exec", "--", "no-such-command-here"])
        #expect(missing.status == 127)
        #expect(missing.stderr.contains("no-such-command-here: command not found"))
        let badDir = try automation(["exec", "--cwd", "/no/such/dir", "--", "true"])
        #expect(badDir.status == 126)
        #expect(badDir.stderr.contains("/no/such/dir"))
    }

    @Test("non-finite or absurd durations are a usage error (64), never a crash",
          arguments: ["inf", "nan", "1e300", "1e13", "-1", "0"])
    func absurdTimeouts(value: String) throws {
        let run = try automation(["exec", "--timeout", value, "--", "true"])
        #expect(run.status == 64, "--timeout \(value): status \(run.status), stderr \(run.stderr)")
        #expect(run.stderr.contains("--timeout"))
    }

    @Test("--stdin streams files and pipes of any size (was capped at 3 MiB)")
    func largeStdin() throws {
        let size = 12 * 1024 * 1024 + 5
        let path = NSTemporaryDirectory() + "cli-stdin-\(UUID().uuidString)"
        defer { unlink(path) }
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x7a, count: size))
        let fromFile = try automation(["exec", "--stdin", path, "--", "wc", "-c"])
        #expect(fromFile.status == 0 && fromFile.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(size), "\(fromFile)")
        let fromPipe = try automation(["exec", "--stdin", "-", "--", "wc", "-c"], stdin: Data(repeating: 0x7a, count: 5_000_000))
        #expect(fromPipe.status == 0 && fromPipe.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5000000", "\(fromPipe)")
        let missing = try automation(["exec", "--stdin", "/no/such/file", "--", "cat"])
        #expect(missing.status == 64 && missing.stderr.contains("/no/such/file"), "\(missing)")
    }

    @Test("argv is never re-parsed by a shell")
    func argvIntact() throws {
        let tricky = ["a b", "$HOME", "`id`", "'\"", "*", "-n"]
        let run = try automation(["exec", "--", "printf", "%s|"] + tricky)
        #expect(run.stdout == tricky.map { $0 + "|" }.joined())
    }

    @Test("env, cwd, stdin and timeout options")
    func options() throws {
        let run = try automation(["exec", "--env", "GREETING=hi there", "--cwd", "/usr", "--stdin", "-", "--", "sh", "-c", "echo \"$GREETING $(pwd) $(cat)\""],
                                 stdin: Data("from stdin".utf8))
        #expect(run.stdout == "hi there /usr from stdin\n")
        let slow = try automation(["exec", "--timeout", "0.3", "--", "sleep", "30"])
        #expect(slow.status == 128 + 15)
        #expect(slow.stderr.contains("timed out"))
    }

    @Test("several targets: every line prefixed, first failure's status")
    func multipleTargets() throws {
        let run = try automation(["exec", "--target", "local", "--target", "local:2", "--", "sh", "-c", "echo one; echo two; exit 3"])
        #expect(run.status == 3)
        let lines = run.stdout.split(separator: "\n").map(String.init).sorted()
        #expect(lines == ["[local:2] one", "[local:2] two", "[local] one", "[local] two"])
    }

    @Test("usage errors exit 64 with a message, not a trace")
    func usageErrors() throws {
        for arguments in [["exec"], ["exec", "--target", "ftp://x", "--", "true"], ["exec", "--env", "NOEQUALS", "--", "true"],
                          ["ping", "--count", "0"], ["ping", "--count", "99999999999999"], ["exec", "--target", "local:0", "--", "true"], ["frobnicate"]] {
            let run = try automation(arguments)
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains("Error") || run.stderr.contains("error"), "\(arguments)")
            #expect(!run.stderr.contains("Fatal error"))
        }
    }

    @Test("slot and instance counts are bounded like --jobs: a usage error (64) naming the target, never an abort",
          arguments: ["local:99999999999", "local:1025", "local:-1", "ssh://host.invalid/1025", "ssh://host.invalid/99999999999",
                      "aws:257", "aws:99999999999"])
    func hugeSlotCounts(target: String) throws {
        let run = try automation(["run-tests", "--target", target, "--dry-run"])
        #expect(run.status == 64, "\(target): status \(run.status), stderr \(run.stderr)")
        #expect(run.stderr.contains("'\(target)'"), "\(target): \(run.stderr)")
        #expect(!run.stderr.contains("Fatal error") && !run.stderr.contains("allocat"), "\(target): \(run.stderr)")
    }

    @Test("a missing agent binary is the tool's failure (255) with a way out")
    func missingAgent() throws {
        let run = try automation(["exec", "--agent-binary", "/nonexistent/agent", "--", "true"])
        #expect(run.status == 64 || run.status == 255)
        #expect(run.stderr.contains("--agent-binary"))
    }

    @Test("ping prints percentiles")
    func ping() throws {
        let run = try automation(["ping", "--count", "50"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("local: 50 pings, p50"))
        let json = try automation(["ping", "--count", "5", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["count"] as? Int == 5)
        #expect(object?["p50Us"] != nil)
    }

    @Test("--version and --help")
    func versionAndHelp() throws {
        #expect(try automation(["--version"]).stdout.hasPrefix("automation "))
        let help = try automation(["exec", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--timeout"))
    }
}
