import AgentProtocol
import Foundation
import Scheduling

/// The generic runner: `--list-command` prints names, `--test-command 'CMD {test}'`
/// runs one (exit 0 pass, 80 skip, anything else fail). One exec per test, so
/// every batch is a single test.
struct CommandTestRunner: TestRunnerAdapter {
    static let skipStatus: Int32 = 80

    let settings: RunnerSettings
    let listCommand: CommandTemplate
    let testCommand: CommandTemplate

    var name: String { "command" }
    var batchPolicy: BatchPolicy { .singleTest }

    var batchOverhead: Double { 0.01 }

    var typicalTestSeconds: Double { 1 }

    func prepare(_ client: AgentClient, target: String) async throws {}

    func listTests(_ client: any TestLister) async throws -> [String] {
        let output = try await ExecOutput.collect(client, settings.params(listCommand.words + settings.selection, scratch: nil), what: "--list-command")
        return TestListParser.plain(output)
    }

    func run(_ batch: Batch, in context: SlotContext, report: @escaping @Sendable (ResultMarker) async -> Void) async throws {
        for entry in batch.entries {
            let started = Date()
            let params = settings.params(testCommand.argv(test: entry.name) + settings.runnerArgs, scratch: context.scratch,
                                         env: ["AUTOMATION_SLOT": String(context.hostSlotIndex)], timeout: settings.timeout)
            let result: ExecResult
            var output = ExecOutput()
            do {
                result = try await output.consume(try context.start(params), report: { _ in })
            } catch let error as AgentClientError where error.kind == .remote(.commandNotFound) || error.kind == .remote(.spawnFailed) {
                // The command could not start (not found, not executable, no such cwd): every
                // test would fail the same way in no time. That is one setup error for the run,
                // not a failure (and a ~0 s duration) for each test.
                throw SetupError(flag: "--test-command", argv: params.argv, message: error.message)
            } catch let error as AgentClientError where !error.isInfrastructure {
                // Any other refusal of this one exec: this test errs, the run goes on.
                await report(ResultMarker(test: entry.name, status: .error, duration: 0, message: error.message,
                                          start: started.timeIntervalSince1970, end: Date().timeIntervalSince1970))
                continue
            }
            let seconds = Double(result.durationUs) / 1_000_000
            let text = output.tail.text
            var marker = ResultMarker(test: entry.name, status: .passed, duration: seconds,
                                      start: started.timeIntervalSince1970, end: started.timeIntervalSince1970 + seconds)
            if result.timedOut || context.current.endedByController {
                marker.status = .timedOut
                marker.message = "timed out after \(settings.timeout.map { String($0) } ?? "?") s"
                    + (result.timedOut ? "" : " (ended by the controller: the agent did not end it)")
                marker.detail = text
            } else if result.exitCode == Self.skipStatus {
                marker.status = .skipped
                marker.message = text.split(separator: "\n").last.map(String.init) ?? "skipped"
            } else if result.exitCode != 0 {
                marker.status = .failed
                marker.message = ExecOutput.describe(result)
                marker.detail = text
            }
            await report(marker)
        }
    }
}
