import Foundation

/// Credentials served over HTTP inside AWS: ECS/EKS container credentials and EC2 IMDSv2.
struct MetadataCredentialsProvider {
    let http: HTTPClient
    let environment: AWSEnvironment

    /// The container endpoint, when the environment says we run in a container with a task role.
    var containerEndpoint: String? {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] { return "http://169.254.170.2" + relative }
        return environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    }

    func container() async throws -> AWSCredentials? {
        guard let url = containerEndpoint else { return nil }
        var headers: [(String, String)] = []
        if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] {
            headers.append(("Authorization", token))
        } else if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"],
                  let token = try? String(contentsOfFile: file, encoding: .utf8) {
            headers.append(("Authorization", token.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        let response: HTTPResponse
        do {
            response = try await http.send(HTTPRequest(method: "GET", url: url, headers: headers, timeout: .seconds(5)))
        } catch {
            throw CredentialsError(.containerFailed, "container credentials endpoint \(url) did not answer: \(error)")
        }
        guard response.status == 200 else {
            throw CredentialsError(.containerFailed, "container credentials endpoint \(url) answered HTTP \(response.status): \(response.text.prefix(200))")
        }
        return try Self.decode(response.body, source: "container credentials (\(url))")
    }

    /// IMDSv2: a session token first, then the role's credentials. Nil when no metadata service answers.
    func instanceMetadata() async throws -> AWSCredentials? {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        var base = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        if base.hasSuffix("/") { base.removeLast() }
        let tokenResponse: HTTPResponse
        do {
            tokenResponse = try await http.send(HTTPRequest(method: "PUT", url: base + "/latest/api/token",
                                                            headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")], timeout: .seconds(1)))
        } catch {
            return nil
        }
        guard tokenResponse.status == 200 else { return nil }
        let token = [("X-aws-ec2-metadata-token", tokenResponse.text)]
        let rolePath = base + "/latest/meta-data/iam/security-credentials/"
        let roles = try await http.send(HTTPRequest(method: "GET", url: rolePath, headers: token, timeout: .seconds(2)))
        guard roles.status == 200, let role = roles.text.split(separator: "\n").first else {
            throw CredentialsError(.metadataFailed, "the EC2 instance metadata service answered but the instance has no IAM role (HTTP \(roles.status))")
        }
        let creds = try await http.send(HTTPRequest(method: "GET", url: rolePath + role, headers: token, timeout: .seconds(2)))
        guard creds.status == 200 else {
            throw CredentialsError(.metadataFailed, "instance metadata credentials for role \(role): HTTP \(creds.status)")
        }
        return try Self.decode(creds.body, source: "EC2 instance metadata (role \(role))")
    }

    static func decode(_ body: [UInt8], source: String) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String else {
            throw CredentialsError(.metadataFailed, "\(source) returned no AccessKeyId/SecretAccessKey")
        }
        return AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: object["Token"] as? String,
                              expiration: (object["Expiration"] as? String).flatMap(ISO8601.parse), source: source)
    }
}
