@testable import AWS
import Foundation

/// Clients pointed at a local endpoint with fixed credentials and quick retries.
enum TestClients {
    static let credentials = AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", source: "test")

    static func client(_ endpoint: String, credentials: AWSCredentials = credentials, region: String = "us-west-2",
                       retry: RetryPolicy = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50)),
                       http: HTTPClient = HTTPClient(configuration: .init(connectTimeout: .seconds(10), requestTimeout: .seconds(120)))) -> AWSClient {
        // Generous timeouts: several moto servers share two cores with other builds while tests run in parallel.
        AWSClient(region: region, credentials: StaticCredentialsProvider(credentials), endpoints: .fixed(endpoint), http: http, retry: retry)
    }
}
