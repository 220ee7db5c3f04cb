import Foundation
import Testing
@testable import Scheduling

@Suite("Durations")
struct DurationHistoryTests {
    @Test("estimates are the median of the last five runs")
    func median() {
        var history = DurationHistory()
        for value in [100.0, 1, 2, 3, 4, 5] { history.record("t", seconds: value) }
        #expect(history.tests["t"] == [1, 2, 3, 4, 5])
        #expect(history.known("t") == 3)
    }

    @Test("unknown tests get a typical known test's estimate, or the fallback")
    func unknown() {
        #expect(DurationHistory().unknownEstimate() == DurationHistory.fallbackEstimate)
        #expect(DurationHistory().unknownEstimate(fallback: 10) == 10)
        var history = DurationHistory()
        history.record("a", seconds: 1)
        history.record("b", seconds: 3)
        history.record("c", seconds: 10)
        #expect(history.unknownEstimate(fallback: 10) == 3)
        #expect(history.estimates(for: ["a", "new"]) == ["a": 1, "new": 3])
    }

    @Test("infrastructure errors do not pollute the history")
    func infrastructure() {
        var history = DurationHistory()
        let slot = SlotID(target: "local", host: "h", index: 0)
        var lost = attempt("t", .error, on: slot, for: 0)
        lost.infrastructure = true
        history.record([lost, attempt("u", .passed, on: slot, for: 2)])
        #expect(history.tests.keys.sorted() == ["u"])
    }

    @Test("the store round-trips through its JSON file per project and runner")
    func store() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("durations-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = DurationStore(stateDirectory: dir, project: "my/proj", runner: "mercurial")
        #expect(try store.load() == DurationHistory())
        var history = DurationHistory()
        history.record("test-a.t#case", seconds: 1.23456)
        try store.save(history)
        #expect(store.path.path.hasSuffix("durations/my_proj/mercurial.json"))
        #expect(try store.load().tests == ["test-a.t#case": [1.235]])
    }
}
