import Foundation
import Testing
import TestSupport

/// The shared test helpers themselves: the fixture gate skips with its reason
/// and fails under CI=true, the generator replays, bounded waits end.
@Suite("TestSupport")
struct TestSupportTests {
    static let missing = Requirement("needs a tool this machine lacks (apt-get install it)") { false }

    @Test("a met requirement runs the test, on CI or not")
    func metRuns() throws {
        let met = Requirement("needs nothing") { true }
        #expect(try met.runOrSkip(isCI: false))
        #expect(try met.runOrSkip(isCI: true))
        try met.require()
    }

    @Test("an unmet requirement skips the test outside CI, and fails it under CI=true with the reason")
    func unmetSkipsOrFails() throws {
        #expect(try Self.missing.runOrSkip(isCI: false) == false)
        let error = try #require(throws: RequirementError.self) { try Self.missing.runOrSkip(isCI: true) }
        #expect(error.description.contains("needs a tool this machine lacks (apt-get install it)"))
        #expect(error.description.contains("CI=true"))
        #expect(throws: RequirementError.self) { try Self.missing.require() }
    }

    @Test("the trait says why it skips")
    func traitCarriesTheReason() {
        let trait: ConditionTrait = .requires(Self.missing)
        #expect(trait.comments.contains { $0.rawValue.contains("needs a tool this machine lacks") })
    }

    @Test("SplitMix64 gives the reference sequence, so a seed replays")
    func splitMixReference() {
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        var again = SplitMix64(seed: 0)
        _ = again.next()
        #expect(again.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("eventually: true as soon as the condition holds, false when the bound passes without it")
    func eventuallyBounded() async {
        var calls = 0
        let held = await eventually(within: 60) {
            calls += 1
            return calls >= 3
        }
        #expect(held && calls == 3)
        let never = await eventually(within: 0.1, every: .milliseconds(10)) { false }
        #expect(!never)
    }

    @Test("AUTOMATION_AGENT_BINARY, when set, is the agent the tests run")
    func agentFromEnvironment() throws {
        guard let fromEnvironment = ProcessInfo.processInfo.environment["AUTOMATION_AGENT_BINARY"], !fromEnvironment.isEmpty else {
            #expect(try BuiltProducts.agent().hasSuffix("/automation-agent"))
            return
        }
        #expect(try BuiltProducts.agent() == fromEnvironment)
    }
}
