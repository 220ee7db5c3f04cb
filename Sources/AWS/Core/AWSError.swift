/// An error response from an AWS API, with the service's own code and message.
public struct AWSError: Error, CustomStringConvertible, Sendable {
    public let service: String
    public let operation: String
    /// The AWS error code, e.g. `InvalidAMIID.NotFound` or `ThrottlingException`.
    public let code: String
    public let message: String
    public let httpStatus: Int
    public let requestId: String?
    /// Where the credentials came from, for authentication failures.
    public var credentialSource: String?

    public init(service: String, operation: String, code: String, message: String, httpStatus: Int, requestId: String? = nil, credentialSource: String? = nil) {
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.requestId = requestId
        self.credentialSource = credentialSource
    }

    static let authenticationCodes: Set<String> = [
        "AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
        "UnrecognizedClientException", "InvalidAccessKeyId", "IncompleteSignature", "InvalidSignatureException",
        "MissingAuthenticationToken", "AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
    ]

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
        "ServiceUnavailable", "Unavailable",
    ]

    /// Throttling and server-side failures are worth retrying; client errors are not.
    public var isRetryable: Bool {
        httpStatus >= 500 || httpStatus == 429 || Self.throttlingCodes.contains(code)
    }

    /// True for codes that mean "the thing is not there".
    public var isNotFound: Bool {
        // Launch template calls say `InvalidLaunchTemplateName.NotFoundException`.
        code.hasSuffix("NotFound") || code.hasSuffix("NotFoundException") || code == "NoSuchEntity"
    }

    public var description: String {
        var text = "AWS \(service) \(operation) failed: \(code): \(message) (HTTP \(httpStatus)"
        if let requestId { text += ", request id \(requestId)" }
        text += ")"
        if Self.authenticationCodes.contains(code) {
            text += code.hasPrefix("Access") || code == "UnauthorizedOperation"
                ? "; the caller lacks permission for \(service):\(operation)"
                : "; check the AWS credentials"
            if let credentialSource { text += " (from \(credentialSource))" }
        }
        return text
    }
}

/// A bounded wait ran out.
public struct WaitTimeoutError: Error, CustomStringConvertible, Sendable {
    public let what: String
    public let timeout: Duration
    public let lastState: String

    public var description: String {
        "timed out after \(timeout.formattedSeconds) waiting for \(what) (last seen: \(lastState)); raise the limit with --wait-timeout or check the AWS console"
    }
}

extension Duration {
    var formattedSeconds: String {
        let (s, atto) = components
        let value = Double(s) + Double(atto) / 1e18
        return value == value.rounded() ? "\(Int(value))s" : String(format: "%.1fs", value)
    }
}
