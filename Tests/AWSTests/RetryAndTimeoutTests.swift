@testable import AWS
import Foundation
import Testing
import TestSupport

/// Throttling, 5xx and silence, injected by deploy/aws/fault-proxy.py in front of moto.
@Suite("Retries and timeouts", .requires(Fixtures.moto))
struct RetryAndTimeoutTests {
    func requests(_ proxy: ServerProcess) async throws -> Int {
        let response = try await HTTPClient().send(HTTPRequest(method: "GET", url: proxy.endpoint + "/__count"))
        return Int(response.text) ?? -1
    }

    @Test("throttling and 500 responses are retried with backoff until the call succeeds")
    func retriesThrottlingAnd500() async throws {
        try await withMoto { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, "throttle,500,throttle"])
            defer { proxy.stop() }
            let client = TestClients.client(proxy.endpoint)
            let identity = try await STS(client: client).getCallerIdentity()
            #expect(identity.account == "123456789012")
            #expect(try await requests(proxy) == 4, "three failures, then the forwarded call")
            #expect(client.metrics.snapshot["sts:GetCallerIdentity"] == 4)
        }
    }

    @Test("JSON-protocol throttling (SSM) is retried too")
    func retriesJSONThrottling() async throws {
        try await withMoto { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, "jthrottle,jthrottle"])
            defer { proxy.stop() }
            let value = try await SSM(client: TestClients.client(proxy.endpoint)).getParameter("/hg-automation/does-not-exist")
            #expect(value == nil)
            #expect(try await requests(proxy) == 3)
        }
    }

    @Test("when retries run out the AWS error code and message reach the user")
    func retriesExhausted() async throws {
        try await withMoto { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, "500,500,500,500,500"])
            defer { proxy.stop() }
            let client = TestClients.client(proxy.endpoint, retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20)))
            let error = await #expect(throws: AWSError.self) { try await EC2(client: client).describeInstances() }
            #expect(error?.code == "InternalError")
            #expect(error?.httpStatus == 500)
            #expect(error?.description.contains("AWS ec2 DescribeInstances failed: InternalError: An internal error has occurred (HTTP 500") == true)
            #expect(try await requests(proxy) == 3)
        }
    }

    @Test("client errors are not retried")
    func clientErrorsAreNotRetried() async throws {
        try await withMoto { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, ""])
            defer { proxy.stop() }
            let client = TestClients.client(proxy.endpoint)
            let error = await #expect(throws: AWSError.self) { try await EC2(client: client).describeInstances(ids: ["i-0123456789abcdef0"]) }
            #expect(error?.code == "InvalidInstanceID.NotFound")
            #expect(try await requests(proxy) == 1, "a 400 answer is final")
        }
    }

    @Test("a response that never arrives ends in a timeout error, bounded in time")
    func silentServerTimesOut() async throws {
        try await withMoto { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, "hang,hang,hang"])
            defer { proxy.stop() }
            let http = HTTPClient(configuration: .init(connectTimeout: .seconds(2), requestTimeout: .milliseconds(700)))
            let client = TestClients.client(proxy.endpoint, retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(5), maxDelay: .milliseconds(10)), http: http)
            let start = ContinuousClock.now
            let error = await #expect(throws: HTTPError.self) { try await STS(client: client).getCallerIdentity() }
            let elapsed = ContinuousClock.now - start
            #expect(error?.code == .timeout)
            #expect(error?.description.contains("timed out") == true)
            // Only a hang detector (the proxy holds the request for an hour): how fast
            // is not this test's business, and a loaded CI machine stretches it.
            #expect(elapsed < .seconds(100), "two attempts of 0.7 s each should not take \(elapsed)")
            #expect(client.metrics.total == 2)
        }
    }

    @Test("a connection refused is reported with the endpoint and a hint")
    func connectionRefused() async throws {
        // Port 1 on loopback is closed on any sane machine.
        let client = TestClients.client("http://127.0.0.1:1", retry: RetryPolicy(maxAttempts: 1))
        let error = await #expect(throws: HTTPError.self) { try await STS(client: client).getCallerIdentity() }
        #expect(error?.code == .connect)
        #expect(error?.description.contains("127.0.0.1:1") == true)
    }

    @Test("cancelling the task aborts a transfer in flight")
    func cancellation() async throws {
        try await withMoto { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, "hang"])
            defer { proxy.stop() }
            let client = TestClients.client(proxy.endpoint, retry: RetryPolicy(maxAttempts: 1))
            let task = Task { try await STS(client: client).getCallerIdentity() }
            try await Task.sleep(for: .milliseconds(300))
            let start = ContinuousClock.now
            task.cancel()
            let result = await task.result
            // Below the two-minute request timeout, so only cancellation can end it this soon;
            // the error code below says which one did.
            #expect(ContinuousClock.now - start < .seconds(100), "the hang lasts an hour and the request timeout is two minutes")
            guard case .failure(let error) = result, let http = error as? HTTPError else {
                Issue.record("expected HTTPError, got \(result)")
                return
            }
            #expect(http.code == .cancelled)
        }
    }

    @Test("waits are bounded and say what they waited for")
    func waitTimeout() async throws {
        let error = await #expect(throws: WaitTimeoutError.self) {
            let _: Int = try await EC2.poll("instance i-1 to be running", timeout: .milliseconds(300), interval: .milliseconds(50)) { (nil, "pending") }
        }
        #expect(error?.description.contains("timed out after") == true)
        #expect(error?.description.contains("instance i-1 to be running (last seen: pending)") == true)
    }
}
