/// Region, profile and endpoints resolved like the AWS CLI and boto3 do.
public struct AWSSettings: Sendable {
    public static let defaultRegion = "us-west-2"

    public let region: String
    /// Where the region came from, for `whoami`.
    public let regionSource: String
    public let profileName: String
    /// True when `--aws-profile` named the profile: then environment keys are ignored, as in boto3.
    public let profileFromCommandLine: Bool
    public let endpoints: EndpointResolver
    public let environment: AWSEnvironment
    public let options: AWSOptions
    /// `AWS_CA_BUNDLE` or the profile's `ca_bundle`: trusted CAs instead of the system store.
    public let caBundle: String?

    /// Region: `--aws-region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, then us-west-2.
    public static func resolve(options: AWSOptions, environment: AWSEnvironment) throws -> AWSSettings {
        let profileName = options.profile ?? environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"] ?? "default"
        let store = try AWSProfileStore(environment: environment)
        let profile = store.profile(profileName)
        let (region, source): (String, String) =
            if let r = options.region { (r, "--aws-region") }
            else if let r = environment["AWS_REGION"] { (r, "AWS_REGION") }
            else if let r = environment["AWS_DEFAULT_REGION"] { (r, "AWS_DEFAULT_REGION") }
            else if let r = profile?["region"] { (r, "profile \(profileName)") }
            else { (defaultRegion, "default") }
        return AWSSettings(region: region, regionSource: source, profileName: profileName, profileFromCommandLine: options.profile != nil,
                           endpoints: EndpointResolver(options: options, environment: environment, profileEndpoint: profile?["endpoint_url"]),
                           environment: environment, options: options,
                           caBundle: environment["AWS_CA_BUNDLE"] ?? profile?["ca_bundle"].map(environment.expand))
    }

    /// A client whose credentials come from the standard chain.
    public func makeClient(http: HTTPClient? = nil, retry: RetryPolicy = RetryPolicy(), metrics: AWSCallMetrics = AWSCallMetrics()) -> AWSClient {
        let http = http ?? HTTPClient(configuration: HTTPClientConfiguration(caBundle: caBundle))
        let chain = CredentialsChain(settings: self, http: http, metrics: metrics)
        return AWSClient(region: region, credentials: chain, endpoints: endpoints, http: http, retry: retry, metrics: metrics)
    }
}
