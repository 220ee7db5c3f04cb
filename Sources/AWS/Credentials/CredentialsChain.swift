import Foundation

/// The default credential chain of the AWS CLI and boto3, cached and refreshed before expiry.
///
/// Order: environment keys (skipped when `--aws-profile` is given), the profile (role_arn with
/// source_profile or credential_source through STS AssumeRole, static keys, credential_process),
/// container credentials, then EC2 instance metadata (IMDSv2).
public actor CredentialsChain: CredentialsProvider {
    let settings: AWSSettings
    let http: HTTPClient
    let metrics: AWSCallMetrics
    private var cached: AWSCredentials?

    public init(settings: AWSSettings, http: HTTPClient = HTTPClient(), metrics: AWSCallMetrics = AWSCallMetrics()) {
        self.settings = settings
        self.http = http
        self.metrics = metrics
    }

    public func credentials() async throws -> AWSCredentials {
        if let cached, !cached.expires(within: 300) { return cached }
        let fresh = try await resolve()
        cached = fresh
        return fresh
    }

    func resolve() async throws -> AWSCredentials {
        let env = settings.environment
        var looked: [String] = []
        if !settings.profileFromCommandLine {
            if let c = try environmentCredentials() { return c }
            looked.append("environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (not set)")
        }
        let store = try AWSProfileStore(environment: env)
        let name = settings.profileName
        if let profile = store.profile(name) {
            if let c = try await fromProfile(profile, store: store, depth: 0) { return c }
            looked.append("profile \"\(name)\" in \(profile.origin) (no aws_access_key_id, role_arn or credential_process)")
        } else if settings.profileFromCommandLine || env["AWS_PROFILE"] != nil {
            throw CredentialsError(.invalidConfiguration, "the AWS profile \"\(name)\" is not in \(store.credentials.path) or \(store.config.path); check --aws-profile / AWS_PROFILE")
        } else {
            looked.append("profile \"default\" in \(store.credentials.path) and \(store.config.path) (\(store.credentials.exists || store.config.exists ? "no such profile" : "files not found"))")
        }
        let metadata = MetadataCredentialsProvider(http: http, environment: env)
        if let c = try await metadata.container() { return c }
        looked.append("container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI not set)")
        if let c = try await metadata.instanceMetadata() { return c }
        looked.append(env["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
                      ? "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)" : "EC2 instance metadata (no answer)")
        throw CredentialsError(.notFound, "no AWS credentials found. Looked in:\n  - " + looked.joined(separator: "\n  - ")
                               + "\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure a profile (aws configure) and pass --aws-profile or set AWS_PROFILE.")
    }

    func environmentCredentials() throws -> AWSCredentials? {
        let env = settings.environment
        let key = env["AWS_ACCESS_KEY_ID"]
        let secret = env["AWS_SECRET_ACCESS_KEY"]
        switch (key, secret) {
        case let (key?, secret?):
            return AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"] ?? env["AWS_SECURITY_TOKEN"], source: "environment variables")
        case (nil, nil):
            return nil
        default:
            throw CredentialsError(.invalidConfiguration, "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set; set both or neither")
        }
    }

    func fromProfile(_ profile: AWSProfile, store: AWSProfileStore, depth: Int) async throws -> AWSCredentials? {
        guard depth < 8 else { throw CredentialsError(.invalidConfiguration, "profile \(profile.name): source_profile chain is too long or circular") }
        if let roleArn = profile["role_arn"] {
            let source: AWSCredentials
            if let sourceName = profile["source_profile"] {
                guard let sourceProfile = store.profile(sourceName) else {
                    throw CredentialsError(.invalidConfiguration, "profile \(profile.name): source_profile \"\(sourceName)\" does not exist")
                }
                // A profile naming itself as its source uses its own static keys (botocore does the same).
                let resolved = sourceName == profile.name ? Self.staticKeys(sourceProfile) : try await fromProfile(sourceProfile, store: store, depth: depth + 1)
                guard let resolved else { throw CredentialsError(.invalidConfiguration, "profile \(profile.name): source_profile \"\(sourceName)\" has no credentials") }
                source = resolved
            } else if let credentialSource = profile["credential_source"] {
                source = try await fromCredentialSource(credentialSource, profile: profile.name)
            } else {
                throw CredentialsError(.invalidConfiguration, "profile \(profile.name): role_arn needs source_profile or credential_source")
            }
            return try await assumeRole(roleArn, profile: profile, with: source)
        }
        if let c = Self.staticKeys(profile) { return c }
        if let command = profile["credential_process"] {
            return try await ProcessCredentialsProvider(command: command, profile: profile.name).credentials()
        }
        if profile["sso_start_url"] != nil || profile["sso_session"] != nil {
            throw CredentialsError(.invalidConfiguration, "profile \(profile.name) uses AWS SSO, which this tool does not support; run `aws configure export-credentials --profile \(profile.name) --format env` and use the environment variables")
        }
        return nil
    }

    static func staticKeys(_ profile: AWSProfile) -> AWSCredentials? {
        guard let key = profile["aws_access_key_id"], let secret = profile["aws_secret_access_key"] else { return nil }
        return AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: profile["aws_session_token"], source: "profile \(profile.name) (\(profile.origin))")
    }

    func fromCredentialSource(_ name: String, profile: String) async throws -> AWSCredentials {
        let metadata = MetadataCredentialsProvider(http: http, environment: settings.environment)
        let found: AWSCredentials? = switch name {
        case "Environment": try environmentCredentials()
        case "EcsContainer": try await metadata.container()
        case "Ec2InstanceMetadata": try await metadata.instanceMetadata()
        default: throw CredentialsError(.invalidConfiguration, "profile \(profile): unknown credential_source \"\(name)\" (use Environment, EcsContainer or Ec2InstanceMetadata)")
        }
        guard let found else { throw CredentialsError(.notFound, "profile \(profile): credential_source \(name) provided no credentials") }
        return found
    }

    func assumeRole(_ roleArn: String, profile: AWSProfile, with source: AWSCredentials) async throws -> AWSCredentials {
        let sts = STS(client: AWSClient(region: profile["region"] ?? settings.region, credentials: StaticCredentialsProvider(source),
                                        endpoints: settings.endpoints, http: http, metrics: metrics))
        do {
            var c = try await sts.assumeRole(roleArn: roleArn, sessionName: profile["role_session_name"] ?? "hg-automation-\(Int(Date().timeIntervalSince1970))",
                                             externalId: profile["external_id"], durationSeconds: profile["duration_seconds"].flatMap { Int($0) })
            c.source = "role \(roleArn) assumed by profile \(profile.name) with credentials from \(source.source)"
            return c
        } catch let error as AWSError {
            throw CredentialsError(.assumeRoleFailed, "profile \(profile.name): cannot assume \(roleArn): \(error)")
        }
    }
}
