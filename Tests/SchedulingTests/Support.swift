import Foundation
import TestSupport
@testable import Scheduling

func slots(_ count: Int, target: String = "local:\(0)") -> [SlotID] {
    (0..<count).map { SlotID(target: "local", host: "localhost", index: $0) }
}

let epoch = Date(timeIntervalSince1970: 1_700_000_000)

func attempt(_ name: String, _ status: TestStatus, on slot: SlotID, at start: Double = 0, for seconds: Double = 1,
             message: String? = nil, detail: String? = nil) -> TestAttempt {
    TestAttempt(name: name, attempt: 0, status: status, slot: slot, start: epoch.addingTimeInterval(start),
                end: epoch.addingTimeInterval(start + seconds), message: message, detail: detail)
}

extension Assignment {
    var batch: Batch? {
        if case .run(let batch) = self { return batch }
        return nil
    }
}

/// A skewed suite: a few long tests, many short ones.
func skewedDurations(count: Int, using rng: inout SplitMix64) -> [String: Double] {
    var tests: [String: Double] = [:]
    for index in 0..<count {
        let long = Double.random(in: 0..<1, using: &rng) < 0.05
        tests[String(format: "test-%04d", index)] = long ? Double.random(in: 20...60, using: &rng) : Double.random(in: 0.05...3, using: &rng)
    }
    return tests
}
