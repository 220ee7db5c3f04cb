/// AWS Systems Manager calls (JSON 1.1 protocol).
public struct SSM: Sendable {
    public let client: AWSClient
    public var pageSize: Int

    public init(client: AWSClient, pageSize: Int = 50) {
        self.client = client
        self.pageSize = pageSize
    }

    /// One command's result on one instance.
    public struct Invocation: Sendable, Equatable {
        /// Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed, Cancelling.
        public let status: String
        public let responseCode: Int
        public let standardOutput: String
        public let standardError: String

        public var isFinished: Bool { !["Pending", "InProgress", "Delayed", "Cancelling"].contains(status) }
    }

    /// Runs shell commands on instances through the `AWS-RunShellScript` document; returns the command id.
    public func sendCommand(instanceIds: [String], commands: [String], documentName: String = "AWS-RunShellScript", comment: String? = nil) async throws -> String {
        var body: [String: Any] = ["InstanceIds": instanceIds, "DocumentName": documentName, "Parameters": ["commands": commands]]
        if let comment { body["Comment"] = String(comment.prefix(100)) }
        let result = try await client.json(.ssm, "SendCommand", body)
        guard let command = result["Command"] as? [String: Any], let id = command["CommandId"] as? String else {
            throw AWSError(service: "ssm", operation: "SendCommand", code: "MalformedResponse", message: "no CommandId", httpStatus: 200)
        }
        return id
    }

    public func getCommandInvocation(commandId: String, instanceId: String) async throws -> Invocation {
        let r = try await client.json(.ssm, "GetCommandInvocation", ["CommandId": commandId, "InstanceId": instanceId])
        return Invocation(status: r["Status"] as? String ?? "Unknown", responseCode: r["ResponseCode"] as? Int ?? -1,
                          standardOutput: r["StandardOutputContent"] as? String ?? "", standardError: r["StandardErrorContent"] as? String ?? "")
    }

    /// Polls until the invocation finishes; `InvocationDoesNotExist` right after SendCommand counts as pending.
    public func waitForInvocation(commandId: String, instanceId: String, timeout: Duration, interval: Duration = .seconds(2)) async throws -> Invocation {
        try await EC2.poll("SSM command \(commandId) on \(instanceId)", timeout: timeout, interval: interval) {
            do {
                let invocation = try await getCommandInvocation(commandId: commandId, instanceId: instanceId)
                return (invocation.isFinished ? invocation : nil, invocation.status)
            } catch let error as AWSError where error.code == "InvocationDoesNotExist" {
                return (nil, "not registered yet")
            }
        }
    }

    /// Ping status (Online, ConnectionLost, Inactive) per managed instance, across all pages.
    public func describeInstanceInformation(instanceIds: [String]) async throws -> [String: String] {
        var result: [String: String] = [:]
        var token: String?
        repeat {
            var body: [String: Any] = ["Filters": [["Key": "InstanceIds", "Values": instanceIds]], "MaxResults": pageSize]
            if let token { body["NextToken"] = token }
            let page = try await client.json(.ssm, "DescribeInstanceInformation", body)
            for item in page["InstanceInformationList"] as? [[String: Any]] ?? [] {
                if let id = item["InstanceId"] as? String { result[id] = item["PingStatus"] as? String ?? "Unknown" }
            }
            token = page["NextToken"] as? String
        } while token != nil
        return result
    }

    /// Waits until every instance reports to SSM as Online (bounded, unlike the original tool's wait_for_ssm).
    public func waitUntilManaged(instanceIds: [String], timeout: Duration, interval: Duration = .seconds(5)) async throws {
        _ = try await EC2.poll("instances \(instanceIds.joined(separator: ", ")) to come online in SSM", timeout: timeout, interval: interval) {
            let status = try await describeInstanceInformation(instanceIds: instanceIds)
            let online = instanceIds.allSatisfy { status[$0] == "Online" }
            return (online ? true : nil, instanceIds.map { "\($0)=\(status[$0] ?? "not registered")" }.joined(separator: ", "))
        }
    }

    /// A parameter's value, or nil when it does not exist (public AMI parameters live under /aws/service/).
    public func getParameter(_ name: String) async throws -> String? {
        do {
            let r = try await client.json(.ssm, "GetParameter", ["Name": name])
            return (r["Parameter"] as? [String: Any])?["Value"] as? String
        } catch let error as AWSError where error.code == "ParameterNotFound" {
            return nil
        }
    }
}
