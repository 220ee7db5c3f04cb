import Foundation

/// Supplies credentials for signing; implementations refresh temporary credentials themselves.
public protocol CredentialsProvider: Sendable {
    func credentials() async throws -> AWSCredentials
}

/// Fixed credentials.
public struct StaticCredentialsProvider: CredentialsProvider {
    public let value: AWSCredentials
    public init(_ value: AWSCredentials) { self.value = value }
    public func credentials() async throws -> AWSCredentials { value }
}

/// Runs blocking work (process waits, file reads) on a dedicated thread, off the cooperative pool.
enum OffPool {
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = name
            thread.start()
        }
    }
}

/// Parses the ISO 8601 timestamps AWS returns, with or without fractional seconds.
enum ISO8601 {
    static func parse(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let d = plain.date(from: text) { return d }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    static func format(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
