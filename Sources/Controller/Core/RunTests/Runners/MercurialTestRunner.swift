import AgentProtocol
import Foundation
import Scheduling

/// Mercurial's tests/run-tests.py. Lists with `--list-tests` (names with
/// `#case` variants), runs each batch as one run-tests.py process with `-j1`,
/// its own `--port` range, TMPDIR and `--outputdir`, against one shared build
/// of hg per host (`--local`, after `make local`) instead of a temporary
/// install per batch.
struct MercurialTestRunner: TestRunnerAdapter {
    let settings: RunnerSettings
    /// Build the in-tree hg with `make local` when it is missing.
    let build: Bool

    var name: String { "mercurial" }
    /// run-tests.py costs about a second to start: batches of at least a few seconds amortise it.
    var batchPolicy: BatchPolicy { BatchPolicy(maxTests: 200, minSeconds: 10, factor: 2, hardFloorSeconds: 4.5) }

    private var root: String { settings.workdir ?? "." }
    private var testsDir: String { (root as NSString).appendingPathComponent("tests") }

    var batchOverhead: Double { 1.5 }

    var typicalTestSeconds: Double { 10 }

    /// `make local` on a fresh copy takes a minute or so; byte-compiling the tree, seconds.
    var prepareActivity: String? { "building" }

    func prepare(_ client: AgentClient, target: String) async throws {
        let venvPython = (root as NSString).appendingPathComponent(".local-venv/bin/python")
        let hg = (root as NSString).appendingPathComponent(".local-venv/bin/hg")
        if (try? await client.stat(hg)) == nil {
            guard build else {
                throw RunnerError("\(target): \(hg) is missing; run `make local` in \(root) or drop --no-build")
            }
            var params = ExecParams(argv: ["make", "local", "PYTHON=\(settings.python)"], cwd: root)
            params.unsetEnv = ["PYTHONDONTWRITEBYTECODE"]
            _ = try await ExecOutput.collect(client, params, what: "\(target): make local")
        }
        // Every hg start imports hundreds of modules: without byte code on disk
        // (a test user cannot write into a tree it does not own) each one
        // recompiles them all, which makes the suite several times slower.
        var compile = ExecParams(argv: [venvPython, "-m", "compileall", "-q", "-j0", "mercurial", "hgext", "hgext3rd", "hgdemandimport", "tests"], cwd: root)
        compile.unsetEnv = ["PYTHONDONTWRITEBYTECODE"]
        // Its status is ignored: a few test fixtures are deliberately not valid Python.
        _ = try await client.run(compile)
    }

    func listTests(_ client: any TestLister) async throws -> [String] {
        let script = (testsDir as NSString).appendingPathComponent("run-tests.py")
        guard await client.exists(script) else {
            throw RunnerError("\(script) does not exist: run from a Mercurial working copy (or pass its root as --workdir)")
        }
        var params = settings.params([settings.python, "run-tests.py", "--list-tests"] + settings.runnerArgs + settings.selection, scratch: nil)
        params.cwd = testsDir
        return TestListParser.mercurial(try await ExecOutput.collect(client, params, what: "run-tests.py --list-tests"))
    }

    func run(_ batch: Batch, in context: SlotContext, report: @escaping @Sendable (ResultMarker) async -> Void) async throws {
        let output = (context.scratch as NSString).appendingPathComponent("out")
        try await context.client.mkdir(output, mode: 0o777)
        try await context.client.chmod(output, mode: 0o777)
        var argv = [settings.python, "-c", MercurialResultScript.source, "run-tests.py", "--local", "-j1",
                    "--port", String(20059 + 100 * context.hostSlotIndex), "--outputdir", output]
        if let timeout = settings.timeout { argv += ["--timeout", String(Int(timeout.rounded(.up)))] }
        argv += settings.runnerArgs + batch.names
        var params = settings.params(argv, scratch: context.scratch, env: ["HGTEST_JOBS": "1"])
        params.cwd = testsDir
        var streamed = ExecOutput()
        let result = try await streamed.consume(try context.start(params), report: report)
        // A run-tests.py that died before reporting leaves tests unreported:
        // the queue re-queues them once. Say why, for the log.
        if streamed.reported.count < batch.entries.count && result.exitCode != 0 && result.exitCode != 1 {
            FileHandle.standardError.write(Data("run-tests.py on \(context.slot) ended with \(ExecOutput.describe(result)) before reporting every test:\n\(streamed.tail.text.suffix(2000))\n".utf8))
        }
    }
}
