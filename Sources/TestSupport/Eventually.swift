import Foundation

/// Polls `condition` until it holds or `seconds` have passed, and says
/// whether it held: a guard against a hang, never a timing assertion (the
/// bound is generous; a test asserts on the result, not on how long it took).
/// A cancelled task stops polling and gets the condition's last answer.
public func eventually(within seconds: Double, every interval: Duration = .milliseconds(50),
                       _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        do { try await Task.sleep(for: interval) } catch { break }
    }
    return try await condition()
}
