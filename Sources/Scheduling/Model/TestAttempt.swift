import Foundation

/// One execution of one test on one slot: the unit that is streamed, stored
/// in the JSON-lines report and drawn on the timeline.
public struct TestAttempt: Codable, Sendable, Equatable {
    /// The test's name as the runner knows it (e.g. `test-foo.t#case`).
    public var name: String
    /// 1 for the first execution, 2 for the first retry or re-queue, ….
    public var attempt: Int
    /// How this attempt ended.
    public var status: TestStatus
    /// Where it ran.
    public var slot: SlotID
    /// When it started and ended (wall clock, as seen by the controller or the runner).
    public var start: Date
    public var end: Date
    /// One-line reason for a non-pass (`output changed`, `exit status 1`, a skip reason).
    public var message: String?
    /// The diff or output tail of a failure.
    public var detail: String?
    /// True when the attempt failed because of the machinery (slot lost,
    /// no result reported), not because of the test.
    public var infrastructure: Bool
    /// When the controller received the result (for result-latency measurements).
    public var reported: Date?

    /// Creates an attempt record.
    public init(
        name: String, attempt: Int, status: TestStatus, slot: SlotID, start: Date, end: Date,
        message: String? = nil, detail: String? = nil, infrastructure: Bool = false, reported: Date? = nil
    ) {
        self.name = name
        self.attempt = attempt
        self.status = status
        self.slot = slot
        self.start = start
        self.end = end
        self.message = message
        self.detail = detail
        self.infrastructure = infrastructure
        self.reported = reported
    }

    /// Seconds between start and end.
    public var duration: Double { max(0, end.timeIntervalSince(start)) }
}
