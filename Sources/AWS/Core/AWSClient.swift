import Foundation
import Logging

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// Sends signed requests to AWS APIs with retries, and decodes errors.
public final class AWSClient: Sendable {
    public let region: String
    public let credentials: any CredentialsProvider
    public let endpoints: EndpointResolver
    public let http: HTTPClient
    public let retry: RetryPolicy
    public let logger: Logger
    public let metrics: AWSCallMetrics

    public init(region: String, credentials: any CredentialsProvider, endpoints: EndpointResolver, http: HTTPClient = HTTPClient(),
                retry: RetryPolicy = RetryPolicy(), logger: Logger = Logger(label: "automation.aws"), metrics: AWSCallMetrics = AWSCallMetrics()) {
        self.region = region
        self.credentials = credentials
        self.endpoints = endpoints
        self.http = http
        self.retry = retry
        self.logger = logger
        self.metrics = metrics
    }

    /// The same client with other credentials (for calls made on behalf of an assumed role).
    public func with(credentials: any CredentialsProvider) -> AWSClient {
        AWSClient(region: region, credentials: credentials, endpoints: endpoints, http: http, retry: retry, logger: logger, metrics: metrics)
    }

    /// Calls a Query-protocol action and returns the parsed XML response root.
    public func query(_ service: AWSService, _ action: String, _ parameters: QueryParameters = QueryParameters()) async throws -> XMLNode {
        guard case .query(let version) = service.wireProtocol else { preconditionFailure("\(service.name) is not a Query service") }
        let body = URIEncoding.formEncode([("Action", action), ("Version", version)] + parameters.pairs)
        let response = try await send(service, action, body: Array(body.utf8), headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")])
        do {
            return try AWSXMLParser.parse(response.body)
        } catch {
            throw AWSError(service: service.name, operation: action, code: "MalformedResponse", message: "\(error)", httpStatus: response.status)
        }
    }

    /// Calls a JSON-protocol operation with a JSON object body and returns the decoded object.
    public func json(_ service: AWSService, _ operation: String, _ body: [String: Any]) async throws -> [String: Any] {
        guard case .json(let prefix) = service.wireProtocol else { preconditionFailure("\(service.name) is not a JSON service") }
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let response = try await send(service, operation, body: Array(data), headers: [
            ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "\(prefix).\(operation)"),
        ])
        if response.body.isEmpty { return [:] }
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw AWSError(service: service.name, operation: operation, code: "MalformedResponse", message: "response is not a JSON object", httpStatus: response.status)
        }
        return object
    }

    /// Signs and sends one request, retrying throttling, 5xx and transient transport failures.
    func send(_ service: AWSService, _ operation: String, body: [UInt8], headers: [(String, String)]) async throws -> HTTPResponse {
        let endpoint = endpoints.endpoint(for: service, region: region)
        guard let url = URLComponents(string: endpoint), let hostName = url.host else {
            throw AWSError(service: service.name, operation: operation, code: "InvalidEndpoint", message: "cannot parse endpoint URL \(endpoint)", httpStatus: 0)
        }
        let defaultPort = url.scheme == "http" ? 80 : 443
        let host = url.port.map { $0 == defaultPort ? hostName : "\(hostName):\($0)" } ?? hostName
        let path = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
        let signer = SigV4Signer(service: service.name, region: service.signingRegion(region))
        var attempt = 0
        while true {
            attempt += 1
            metrics.record(service.name, operation)
            let creds = try await credentials.credentials()
            let baseHeaders = headers + [("Host", host), ("User-Agent", "hg-automation/1 (swift)")]
            let signed = signer.sign(.init(method: "POST", host: host, path: path, headers: baseHeaders, body: body), credentials: creds, date: Date())
            let request = HTTPRequest(method: "POST", url: endpoint + (url.percentEncodedPath.isEmpty ? "/" : ""), headers: baseHeaders + signed, body: body)
            let failure: any Error
            switch await Result(catching: { try await http.send(request) }) {
            case .success(let response):
                if (200..<300).contains(response.status) { return response }
                var error = Self.decodeError(response, service: service.name, operation: operation)
                error.credentialSource = creds.source
                guard error.isRetryable, attempt < retry.maxAttempts else { throw error }
                failure = error
            case .failure(let error):
                guard let httpError = error as? HTTPError, httpError.isTransient, attempt < retry.maxAttempts else { throw error }
                failure = httpError
            }
            let delay = retry.delay(afterAttempt: attempt)
            logger.debug("aws.retry", metadata: ["aws.operation": "\(operation)", "aws.attempt": "\(attempt)", "aws.error": "\(failure)", "aws.delay": "\(delay)"])
            try await Task.sleep(for: delay)
        }
    }

    /// Extracts code and message from an XML (Query) or JSON error body.
    static func decodeError(_ response: HTTPResponse, service: String, operation: String) -> AWSError {
        var code = "HTTP\(response.status)"
        var message = String(response.text.prefix(300))
        var requestId = response.header("x-amzn-requestid") ?? response.header("x-amz-request-id")
        if let xml = try? AWSXMLParser.parse(response.body), let err = xml.first(named: "Error") {
            code = err.string("Code") ?? code
            message = err.string("Message") ?? ""
            requestId = xml.string("RequestID") ?? xml.string("RequestId") ?? requestId
        } else if let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] {
            let type = (response.header("x-amzn-errortype") ?? object["__type"] as? String ?? object["code"] as? String) ?? code
            code = String(type.split(separator: "#").last ?? Substring(type)).split(separator: ":").first.map(String.init) ?? type
            message = (object["message"] ?? object["Message"]) as? String ?? ""
        }
        if response.status == 429 && code.hasPrefix("HTTP") { code = "TooManyRequestsException" }
        return AWSError(service: service, operation: operation, code: code, message: message, httpStatus: response.status, requestId: requestId)
    }
}
