/// Why credentials could not be obtained, with where the chain looked.
public struct CredentialsError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case notFound, invalidConfiguration, processFailed, assumeRoleFailed, containerFailed, metadataFailed
    }
    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
