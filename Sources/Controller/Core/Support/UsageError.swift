/// A mistake in how the tool was called: reported without a stack trace,
/// exit code 64.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
