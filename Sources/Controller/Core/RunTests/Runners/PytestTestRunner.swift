import AgentProtocol
import Foundation
import Scheduling

/// pytest: collection with `--collect-only -q`, batches run with a plugin
/// that streams one result line per test.
struct PytestTestRunner: TestRunnerAdapter {
    let settings: RunnerSettings

    var name: String { "pytest" }
    /// pytest starts in well under a second; small batches keep slots even.
    var batchPolicy: BatchPolicy { BatchPolicy(maxTests: 100, minSeconds: 5, factor: 2, hardFloorSeconds: 2) }

    /// Node ids are relative to the rootdir; pin it to the working directory so they can be passed back.
    private var common: [String] {
        var args = ["-p", "no:cacheprovider"]
        if let workdir = settings.workdir, !settings.runnerArgs.contains(where: { $0.hasPrefix("--rootdir") }) {
            args.append("--rootdir=\(workdir)")
        }
        return args + settings.runnerArgs
    }

    var batchOverhead: Double { 0.7 }

    var typicalTestSeconds: Double { 0.5 }

    func prepare(_ client: AgentClient, target: String) async throws {}

    func listTests(_ client: any TestLister) async throws -> [String] {
        let argv = [settings.python, "-m", "pytest", "--collect-only", "-q"] + common + settings.selection
        return TestListParser.pytest(try await ExecOutput.collect(client, settings.params(argv, scratch: nil), what: "pytest --collect-only"))
    }

    func run(_ batch: Batch, in context: SlotContext, report: @escaping @Sendable (ResultMarker) async -> Void) async throws {
        let argv = [settings.python, "-c", PytestResultScript.source, "-q"] + common + batch.names
        var streamed = ExecOutput()
        _ = try await streamed.consume(try context.start(settings.params(argv, scratch: context.scratch)), report: report)
    }
}
