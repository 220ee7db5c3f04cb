@testable import AWS
import Foundation
import Testing
import TestSupport

/// The credential chain on fixture config files, as boto3 and the AWS CLI resolve it.
@Suite("Credential chain")
struct CredentialsChainTests {
    /// A home directory with ~/.aws/config and ~/.aws/credentials.
    struct Home {
        let url: URL
        init(config: String = "", credentials: String = "") throws {
            url = try Fixtures.temporaryDirectory()
            let aws = url.appendingPathComponent(".aws")
            try FileManager.default.createDirectory(at: aws, withIntermediateDirectories: true)
            try config.write(to: aws.appendingPathComponent("config"), atomically: true, encoding: .utf8)
            try credentials.write(to: aws.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
        }
        func environment(_ vars: [String: String] = [:]) -> AWSEnvironment {
            var v = ["AWS_EC2_METADATA_DISABLED": "true"]
            for (k, x) in vars { v[k] = x }
            return AWSEnvironment(variables: v, homeDirectory: url.path)
        }
        func remove() { try? FileManager.default.removeItem(at: url) }
    }

    func resolve(_ env: AWSEnvironment, _ options: AWSOptions = AWSOptions()) async throws -> (AWSSettings, AWSCredentials) {
        let settings = try AWSSettings.resolve(options: options, environment: env)
        return (settings, try await CredentialsChain(settings: settings).credentials())
    }

    static let files = (
        config: """
        [default]
        region = eu-west-1

        [profile dev]
        region = eu-central-1
        aws_access_key_id = AKIADEVCONFIG
        aws_secret_access_key = dev-config-secret
        s3 =
          max_concurrent_requests = 10

        [profile proc]
        credential_process = "@SCRIPT@" --profile 'the proc'

        [profile broken]
        credential_process = "@FAIL@"
        """,
        credentials: """
        # comment
        [default]
        aws_access_key_id = AKIADEFAULT
        aws_secret_access_key = default-secret ; inline comment

        [dev]
        aws_access_key_id = AKIADEVCREDS
        aws_secret_access_key = dev-creds-secret
        aws_session_token = dev-token
        """
    )

    @Test("environment keys come first, with the session token")
    func environmentFirst() async throws {
        let home = try Home(config: Self.files.config, credentials: Self.files.credentials)
        defer { home.remove() }
        let (settings, c) = try await resolve(home.environment(["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t", "AWS_PROFILE": "dev"]))
        #expect(c.accessKeyId == "AKIAENV")
        #expect(c.sessionToken == "t")
        #expect(c.source == "environment variables")
        #expect(settings.region == "eu-central-1", "AWS_PROFILE still selects the profile's region")
    }

    @Test("--aws-profile overrides environment keys, and the credentials file overrides config")
    func explicitProfile() async throws {
        let home = try Home(config: Self.files.config, credentials: Self.files.credentials)
        defer { home.remove() }
        let (_, c) = try await resolve(home.environment(["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s"]), AWSOptions(profile: "dev"))
        #expect(c.accessKeyId == "AKIADEVCREDS")
        #expect(c.sessionToken == "dev-token")
        #expect(c.source.contains("profile dev"))
    }

    @Test("default profile from the credentials file; inline comments stripped; region order")
    func defaultProfileAndRegion() async throws {
        let home = try Home(config: Self.files.config, credentials: Self.files.credentials)
        defer { home.remove() }
        let (s1, c) = try await resolve(home.environment())
        #expect(c.accessKeyId == "AKIADEFAULT")
        #expect(c.secretAccessKey == "default-secret")
        #expect(s1.region == "eu-west-1")
        #expect(try AWSSettings.resolve(options: .init(), environment: home.environment(["AWS_DEFAULT_REGION": "ap-south-1"])).region == "ap-south-1")
        #expect(try AWSSettings.resolve(options: .init(), environment: home.environment(["AWS_DEFAULT_REGION": "ap-south-1", "AWS_REGION": "sa-east-1"])).region == "sa-east-1")
        #expect(try AWSSettings.resolve(options: .init(region: "us-east-2"), environment: home.environment(["AWS_REGION": "sa-east-1"])).region == "us-east-2")
        let empty = try Home()
        defer { empty.remove() }
        #expect(try AWSSettings.resolve(options: .init(), environment: empty.environment()).region == "us-west-2")
    }

    @Test("credential_process output is used; its failure is reported with status and stderr")
    func credentialProcess() async throws {
        let scripts = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scripts) }
        let ok = scripts.appendingPathComponent("creds ok.sh")
        try """
        #!/bin/sh
        [ "$1" = "--profile" ] && [ "$2" = "the proc" ] || { echo "bad args: $*" >&2; exit 2; }
        echo '{"Version": 1, "AccessKeyId": "AKIAPROCESS", "SecretAccessKey": "p", "SessionToken": "pt", "Expiration": "2099-01-01T00:00:00Z"}'
        """.write(to: ok, atomically: true, encoding: .utf8)
        let fail = scripts.appendingPathComponent("fail.sh")
        try "#!/bin/sh\necho 'token expired, run login' >&2\nexit 3\n".write(to: fail, atomically: true, encoding: .utf8)
        for f in [ok, fail] { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: f.path) }
        let config = Self.files.config.replacingOccurrences(of: "@SCRIPT@", with: ok.path).replacingOccurrences(of: "@FAIL@", with: fail.path)
        let home = try Home(config: config)
        defer { home.remove() }
        let (_, c) = try await resolve(home.environment(["AWS_PROFILE": "proc"]))
        #expect(c.accessKeyId == "AKIAPROCESS")
        #expect(c.sessionToken == "pt")
        #expect(c.expiration != nil)
        let error = await #expect(throws: CredentialsError.self) { try await resolve(home.environment(), AWSOptions(profile: "broken")) }
        #expect(error?.code == .processFailed)
        #expect(error?.message.contains("exited with status 3: token expired, run login") == true)
    }

    @Test("missing credentials: the message lists every place looked")
    func missingCredentials() async throws {
        let home = try Home()
        defer { home.remove() }
        let error = await #expect(throws: CredentialsError.self) { try await resolve(home.environment()) }
        #expect(error?.code == .notFound)
        let text = error?.message ?? ""
        #expect(text.contains("no AWS credentials found"))
        #expect(text.contains("AWS_ACCESS_KEY_ID"))
        #expect(text.contains("\(home.url.path)/.aws/credentials"))
        #expect(text.contains("container credentials"))
        #expect(text.contains("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)"))
    }

    @Test("a named profile that does not exist is an error, not a fallback")
    func missingProfile() async throws {
        let home = try Home(credentials: Self.files.credentials)
        defer { home.remove() }
        let error = await #expect(throws: CredentialsError.self) { try await resolve(home.environment(), AWSOptions(profile: "nope")) }
        #expect(error?.message.contains("the AWS profile \"nope\" is not in") == true)
    }

    @Test("only one of the two key variables set is an error")
    func halfEnvironment() async throws {
        let home = try Home()
        defer { home.remove() }
        let error = await #expect(throws: CredentialsError.self) { try await resolve(home.environment(["AWS_ACCESS_KEY_ID": "AKIA"])) }
        #expect(error?.message.contains("only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") == true)
    }

    @Test("endpoints: flag, per-service variable, global variable, public default")
    func endpoints() throws {
        let env = AWSEnvironment(variables: ["AWS_ENDPOINT_URL": "http://global:1", "AWS_ENDPOINT_URL_IAM": "http://iam:2/"], homeDirectory: "/nonexistent")
        let r = EndpointResolver(options: .init(), environment: env)
        #expect(r.endpoint(for: .iam, region: "eu-west-1") == "http://iam:2")
        #expect(r.endpoint(for: .ec2, region: "eu-west-1") == "http://global:1")
        #expect(EndpointResolver(options: .init(endpointURL: "http://flag:3"), environment: env).endpoint(for: .iam, region: "x") == "http://flag:3")
        let plain = EndpointResolver(options: .init(), environment: AWSEnvironment(variables: [:], homeDirectory: "/nonexistent"))
        #expect(plain.endpoint(for: .ec2, region: "eu-west-1") == "https://ec2.eu-west-1.amazonaws.com")
        #expect(plain.endpoint(for: .iam, region: "eu-west-1") == "https://iam.amazonaws.com")
        #expect(plain.endpoint(for: .ssm, region: "us-west-2") == "https://ssm.us-west-2.amazonaws.com")
    }
}

@Suite("Credential chain against local servers", .requires(Fixtures.moto))
struct CredentialsChainServerTests {
    @Test("role_arn + source_profile assumes the role through STS")
    func assumeRole() async throws {
        try await withMoto { moto in
            let home = try CredentialsChainTests.Home(config: """
                [profile base]
                aws_access_key_id = AKIABASEEXAMPLE
                aws_secret_access_key = base-secret

                [profile builder]
                role_arn = arn:aws:iam::123456789012:role/hg-builder
                source_profile = base
                role_session_name = ci-session
                region = us-east-2

                [profile envrole]
                role_arn = arn:aws:iam::123456789012:role/hg-env
                credential_source = Environment
                """)
            defer { home.remove() }
            let env = home.environment(["AWS_ENDPOINT_URL": moto.endpoint])
            let settings = try AWSSettings.resolve(options: AWSOptions(profile: "builder"), environment: env)
            let client = settings.makeClient()
            let c = try await client.credentials.credentials()
            #expect(c.accessKeyId.hasPrefix("ASIA"))
            #expect(c.sessionToken != nil)
            #expect(c.source.contains("role arn:aws:iam::123456789012:role/hg-builder assumed by profile builder"))
            #expect(settings.region == "us-east-2")
            let identity = try await STS(client: client).getCallerIdentity()
            #expect(identity.arn == "arn:aws:sts::123456789012:assumed-role/hg-builder/ci-session")
            #expect(Ownership.namespace(fromArn: identity.arn) == "hg-builder-ci-session")

            let envSettings = try AWSSettings.resolve(options: AWSOptions(profile: "envrole"),
                                                      environment: home.environment(["AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"]))
            let viaEnv = try await CredentialsChain(settings: envSettings).credentials()
            #expect(viaEnv.source.contains("with credentials from environment variables"))
        }
    }

    @Test("container credentials and IMDSv2 are used when nothing else is configured")
    func metadataServices() async throws {
        guard Fixtures.python3 != nil else { throw FixtureError(description: Fixtures.moto.reason) }
        let server = try await ServerProcess.start(script: "metadata-server.py")
        defer { server.stop() }
        let home = try CredentialsChainTests.Home()
        defer { home.remove() }
        var env = AWSEnvironment(variables: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.endpoint + "/container-credentials",
                                             "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-secret"], homeDirectory: home.url.path)
        var c = try await CredentialsChain(settings: try AWSSettings.resolve(options: .init(), environment: env)).credentials()
        #expect(c.accessKeyId == "ASIACONTAINEREXAMPLE")
        #expect(c.sessionToken == "container-session")
        env = AWSEnvironment(variables: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint], homeDirectory: home.url.path)
        c = try await CredentialsChain(settings: try AWSSettings.resolve(options: .init(), environment: env)).credentials()
        #expect(c.accessKeyId == "ASIAIMDSEXAMPLE")
        #expect(c.source.contains("EC2 instance metadata (role test-role)"))
    }
}
