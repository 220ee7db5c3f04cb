/// The wire protocol of an AWS API.
public enum AWSProtocol: Sendable, Equatable {
    /// Form-encoded `Action=…&Version=…` POST, XML response (EC2, IAM, STS).
    case query(version: String)
    /// `application/x-amz-json-1.1` POST with `X-Amz-Target: <prefix>.<Operation>` (SSM).
    case json(targetPrefix: String)
}

/// One AWS service as this tool calls it.
public struct AWSService: Sendable, Equatable {
    /// The SigV4 signing name and endpoint prefix.
    public let name: String
    /// The suffix of `AWS_ENDPOINT_URL_<SUFFIX>`.
    public let environmentSuffix: String
    public let wireProtocol: AWSProtocol
    /// Global services sign with us-east-1 and use one endpoint.
    public let isGlobal: Bool

    public static let ec2 = AWSService(name: "ec2", environmentSuffix: "EC2", wireProtocol: .query(version: "2016-11-15"), isGlobal: false)
    public static let iam = AWSService(name: "iam", environmentSuffix: "IAM", wireProtocol: .query(version: "2010-05-08"), isGlobal: true)
    public static let sts = AWSService(name: "sts", environmentSuffix: "STS", wireProtocol: .query(version: "2011-06-15"), isGlobal: false)
    public static let ssm = AWSService(name: "ssm", environmentSuffix: "SSM", wireProtocol: .json(targetPrefix: "AmazonSSM"), isGlobal: false)

    /// The region to sign with.
    func signingRegion(_ region: String) -> String { isGlobal ? "us-east-1" : region }

    /// The public endpoint for `region`.
    func defaultEndpoint(region: String) -> String {
        if isGlobal { return "https://\(name).amazonaws.com" }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return "https://\(name).\(region).\(suffix)"
    }
}

/// Chooses each service's endpoint: `--aws-endpoint-url`, then `AWS_ENDPOINT_URL_<SERVICE>`,
/// then `AWS_ENDPOINT_URL`, then the profile's `endpoint_url`, then the public endpoint.
public struct EndpointResolver: Sendable {
    public var override: String?
    public var perService: [String: String]
    public var global: String?

    public init(options: AWSOptions = .init(), environment: AWSEnvironment = .current, profileEndpoint: String? = nil) {
        override = options.endpointURL
        var perService: [String: String] = [:]
        for service in [AWSService.ec2, .iam, .sts, .ssm] {
            if let v = environment["AWS_ENDPOINT_URL_\(service.environmentSuffix)"] { perService[service.name] = v }
        }
        self.perService = perService
        global = environment["AWS_ENDPOINT_URL"] ?? profileEndpoint
    }

    /// Every service at one URL (tests, moto).
    public static func fixed(_ url: String) -> EndpointResolver {
        var r = EndpointResolver(options: AWSOptions(endpointURL: url), environment: AWSEnvironment(variables: [:], homeDirectory: "/nonexistent"))
        r.perService = [:]
        return r
    }

    /// The base URL (no trailing slash) for `service` in `region`.
    public func endpoint(for service: AWSService, region: String) -> String {
        let url = override ?? perService[service.name] ?? global ?? service.defaultEndpoint(region: region)
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}
