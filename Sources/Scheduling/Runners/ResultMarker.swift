import Foundation

/// The line the runner wrappers (run-tests.py's custom result class, the
/// pytest plugin) print the moment a test finishes:
/// `@@automation-result@@ {"test": …, "status": …, "duration": …, "message": …, "detail": …}`.
/// The marker may follow other text on the same line (run-tests.py's progress dots).
public struct ResultMarker: Codable, Sendable, Equatable {
    /// The prefix that identifies a result line.
    public static let prefix = "@@automation-result@@ "

    public var test: String
    /// `pass`, `fail`, `skip`, `error` or `timeout`.
    public var status: TestStatus
    /// Seconds the runner measured.
    public var duration: Double
    public var message: String?
    public var detail: String?
    /// When the test started and ended, in seconds since 1970 on the runner's clock.
    public var start: Double?
    public var end: Double?

    /// Creates a marker.
    public init(test: String, status: TestStatus, duration: Double, message: String? = nil, detail: String? = nil,
                start: Double? = nil, end: Double? = nil) {
        self.test = test
        self.status = status
        self.duration = duration
        self.message = message
        self.detail = detail
        self.start = start
        self.end = end
    }

    /// Parses a result line; nil for any other line.
    public static func parse(_ line: String) -> ResultMarker? {
        guard let range = line.range(of: prefix) else { return nil }
        let json = line[range.upperBound...]
        return try? JSONDecoder().decode(ResultMarker.self, from: Data(json.utf8))
    }
}
