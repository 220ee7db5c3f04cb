import Foundation
import Scheduling

extension RunSession {
    /// `--dry-run` with `aws:N` targets: lists the tests on this machine's working
    /// copy (nothing is launched) and prints ``CloudPlan``.
    func cloudPlan(_ fleets: [CloudPlan.Fleet]) async throws -> Int32 {
        let state = command.global.state
        let store = DurationStore(stateDirectory: URL(fileURLWithPath: try state.directory("")), project: projectName, runner: runner.name)
        let history = (try? store.load()) ?? DurationHistory()
        let client = try await Targets.connect(.local(slots: 1), options: command.targets, state: state, logger: logger)
        defer { client.close() }
        let names = try await listTests(client, with: runner)
        let estimates = history.estimates(for: names, fallback: runner.typicalTestSeconds)
        let plan = CloudPlan(tests: estimates.map { Simulator.Test(name: $0.key, estimate: $0.value, actual: $0.value) },
                             policy: runner.batchPolicy, batchOverhead: runner.batchOverhead,
                             setupSeconds: CloudPlan.setupSeconds(runner: runner.name))
        let known = names.filter { history.known($0) != nil }.count
        writeAll(1, Array(plan.render(fleets, runner: runner.name, known: known).utf8))
        return 0
    }
}

extension CloudPlan {
    /// Deploy, sync and build per host before the first test, by runner: the
    /// mercurial runner builds Mercurial's C extensions (`make local`).
    static func setupSeconds(runner: String) -> Double {
        switch runner {
        case "mercurial": 150
        case "pytest": 20
        default: 10
        }
    }
}
