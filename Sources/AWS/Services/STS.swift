import Foundation

/// AWS Security Token Service calls (Query protocol).
public struct STS: Sendable {
    public let client: AWSClient
    public init(client: AWSClient) { self.client = client }

    /// Who the credentials belong to.
    public struct CallerIdentity: Sendable, Equatable {
        public let account: String
        public let arn: String
        public let userId: String
    }

    /// `GetCallerIdentity`: needs no permissions, so it also proves the credentials work.
    public func getCallerIdentity() async throws -> CallerIdentity {
        let xml = try await client.query(.sts, "GetCallerIdentity")
        guard let result = xml.child("GetCallerIdentityResult"), let account = result.string("Account"), let arn = result.string("Arn") else {
            throw AWSError(service: "sts", operation: "GetCallerIdentity", code: "MalformedResponse", message: "missing Account or Arn", httpStatus: 200)
        }
        return CallerIdentity(account: account, arn: arn, userId: result.string("UserId") ?? "")
    }

    /// `AssumeRole`: temporary credentials for `roleArn`.
    public func assumeRole(roleArn: String, sessionName: String, externalId: String? = nil, durationSeconds: Int? = nil) async throws -> AWSCredentials {
        var p = QueryParameters()
        p.set("RoleArn", roleArn)
        p.set("RoleSessionName", sessionName)
        p.set("ExternalId", externalId)
        p.set("DurationSeconds", durationSeconds.map(String.init))
        let xml = try await client.query(.sts, "AssumeRole", p)
        guard let c = xml[path: "AssumeRoleResult/Credentials"], let key = c.string("AccessKeyId"), let secret = c.string("SecretAccessKey") else {
            throw AWSError(service: "sts", operation: "AssumeRole", code: "MalformedResponse", message: "missing Credentials", httpStatus: 200)
        }
        return AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: c.string("SessionToken"),
                              expiration: c.string("Expiration").flatMap(ISO8601.parse), source: "assumed role \(roleArn)")
    }
}
