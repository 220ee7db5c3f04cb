import AWS
import Foundation
import Scheduling

extension RunSession {
    /// `--dry-run` with `aws:N` targets: lists the tests on this machine's working
    /// copy (nothing is launched) and prints ``CloudPlan``.
    func cloudPlan(_ fleets: [CloudPlan.Fleet]) async throws -> Int32 {
        let state = command.global.state
        let store = DurationStore(stateDirectory: URL(fileURLWithPath: try state.directory("")), project: projectName, runner: runner.name)
        let history = (try? store.load()) ?? DurationHistory()
        let (lister, close) = try await localLister()
        defer { close() }
        let names = try await listTests(lister, with: runner)
        let estimates = history.estimates(for: names, fallback: runner.typicalTestSeconds)
        let plan = CloudPlan(tests: estimates.map { Simulator.Test(name: $0.key, estimate: $0.value, actual: $0.value) },
                             policy: runner.batchPolicy, batchOverhead: runner.batchOverhead,
                             setupSeconds: CloudPlan.setupSeconds(runner: runner.name))
        let known = names.filter { history.known($0) != nil }.count
        let priced = await CloudPlan.withSpotQuotes(fleets, options: command.cloud)
        writeAll(1, Array(plan.render(priced, runner: runner.name, known: known).utf8))
        return 0
    }
}

extension RunSession {
    /// What a dry run lists with on this machine: the local agent when there is one (as a
    /// run would), else the controller itself; a plan runs nothing, so it needs no agent.
    func localLister() async throws -> (any TestLister, @Sendable () -> Void) {
        guard let binary = try? AgentBinary.locate(explicit: command.targets.agentBinary) else {
            logger.debug("run-tests.dry-run.no-agent")
            return (LocalTestLister(), {})
        }
        let client = try await LocalAgent.connect(binary: binary, logger: logger)
        return (client, { client.close() })
    }
}

extension CloudPlan {
    /// With `--spot`, one DescribeSpotPriceHistory call for every type of every fleet (no
    /// namespace, so no STS call); a failure leaves each fleet a reason instead of a price.
    static func withSpotQuotes(_ fleets: [Fleet], options: AWSTargetOptions) async -> [Fleet] {
        let launches = fleets.map { options.spot.launch(for: $0.instanceType) }
        let types = Set(launches.flatMap { $0?.instanceTypes ?? [] }).sorted()
        guard !types.isEmpty else { return fleets }
        let quotes: [CloudPlan.SpotQuote]
        do {
            let settings = try options.aws.settings()
            let cheapest = SpotPrice.cheapest(try await EC2(client: settings.makeClient()).currentSpotPrices(instanceTypes: types))
            quotes = launches.map { launch in
                let allowed = launch?.instanceTypes ?? []
                guard let best = allowed.compactMap({ cheapest[$0] }).min(by: { $0.price < $1.price }) else {
                    return .unavailable("no Linux/UNIX spot price for \(allowed.joined(separator: ", ")) in \(settings.region)")
                }
                return .price(best, types: allowed)
            }
        } catch {
            quotes = launches.map { _ in .unavailable("\(error)") }
        }
        var priced = fleets
        for i in priced.indices where launches[i] != nil { priced[i].spot = quotes[i] }
        return priced
    }

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
