import Foundation

/// The process environment and home directory that configuration is resolved from; tests inject their own.
public struct AWSEnvironment: Sendable {
    public var variables: [String: String]
    public var homeDirectory: String

    public init(variables: [String: String], homeDirectory: String? = nil) {
        self.variables = variables
        self.homeDirectory = homeDirectory ?? variables["HOME"] ?? NSHomeDirectory()
    }

    /// This process's environment.
    public static var current: AWSEnvironment { AWSEnvironment(variables: ProcessInfo.processInfo.environment) }

    /// A variable's value, treating empty as unset (as the AWS CLI does).
    public subscript(_ name: String) -> String? {
        guard let v = variables[name], !v.isEmpty else { return nil }
        return v
    }

    /// `AWS_CONFIG_FILE` or `~/.aws/config`.
    public var configFilePath: String { expand(self["AWS_CONFIG_FILE"] ?? "~/.aws/config") }

    /// `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
    public var credentialsFilePath: String { expand(self["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials") }

    func expand(_ path: String) -> String {
        path.hasPrefix("~/") ? homeDirectory + path.dropFirst(1) : path
    }
}

/// What the user chose on the command line; nil means "resolve as the AWS CLI would".
public struct AWSOptions: Sendable {
    public var profile: String?
    public var region: String?
    public var endpointURL: String?

    public init(profile: String? = nil, region: String? = nil, endpointURL: String? = nil) {
        self.profile = profile
        self.region = region
        self.endpointURL = endpointURL
    }
}
