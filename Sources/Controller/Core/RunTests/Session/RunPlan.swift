import Foundation
import Scheduling

/// The `--dry-run` output: slots, predicted makespan and its lower bound,
/// from the recorded durations (estimates for unknown tests).
enum RunPlan {
    static func render(estimates: [String: Double], known: Int, unknownEstimate: Double, slots: [SlotID],
                       policy: BatchPolicy, runner: String, batchOverhead: Double) -> String {
        let tests = estimates.map { Simulator.Test(name: $0.key, estimate: $0.value, actual: $0.value) }
        let result = Simulator.run(tests: tests, slots: max(1, slots.count), policy: policy, batchOverhead: batchOverhead)
        let total = estimates.values.reduce(0, +)
        var lines: [String] = []
        lines.append("plan: \(estimates.count) tests, runner \(runner), \(slots.count) slots")
        lines.append("slots: " + slots.map(\.description).joined(separator: " "))
        lines.append(String(format: "durations: %d recorded, %d estimated at %.2fs each", known, estimates.count - known, unknownEstimate))
        lines.append(String(format: "batches: %d (at most %d tests, at least %.1fs of work, shrinking toward the end)",
                            result.batches, policy.maxTests, policy.minSeconds))
        for (index, slot) in slots.enumerated() {
            let placed = result.placements.filter { $0.slot == index }
            lines.append(String(format: "  %@: %d tests, %.2fs busy", slot.description as NSString, placed.count, result.slotBusy[index]))
        }
        lines.append(String(format: "predicted makespan %.2fs, lower bound %.2fs (longest test %.2fs, total %.2fs / %d slots)",
                            result.makespan, result.lowerBound, estimates.values.max() ?? 0, total, slots.count))
        return lines.joined(separator: "\n") + "\n"
    }
}
