import Foundation

/// Who owns a resource: the tool, an owner namespace and a run, written as tags on everything created.
///
/// Reconciliation and cleanup only ever select resources whose tags (or local run records) name
/// this tool and this namespace, so two namespaces in one account never touch each other's work.
public struct Ownership: Sendable, Equatable {
    public static let toolKey = "automation:tool"
    public static let toolValue = "hg-automation"
    public static let namespaceKey = "automation:namespace"
    public static let runKey = "automation:run"
    public static let expiresKey = "automation:expires-at"

    public let namespace: String
    /// Name prefix of every resource, `hg-` by default as in the original tool.
    public let prefix: String

    public init(namespace: String, prefix: String = "hg-") throws {
        guard Self.isValidNamespace(namespace) else {
            throw AutomationAWSError("invalid namespace \"\(namespace)\": use 1-32 characters a-z, 0-9 and -, starting with a letter or digit")
        }
        self.namespace = namespace
        self.prefix = prefix
    }

    public static func isValidNamespace(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 32 && s.first != "-" && s.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    /// A namespace from a caller ARN: the user name, or role and session for assumed roles.
    public static func namespace(fromArn arn: String) -> String {
        let resource = arn.split(separator: ":", maxSplits: 5).last.map(String.init) ?? arn
        var parts = resource.split(separator: "/").map(String.init)
        if parts.first == "assumed-role" { parts.removeFirst() } else if parts.count > 1 { parts.removeFirst() }
        let raw = parts.joined(separator: "-").lowercased()
        var out = ""
        for ch in raw {
            if (ch.isASCII && (ch.isLetter || ch.isNumber)) { out.append(ch) } else if !out.hasSuffix("-") { out.append("-") }
        }
        out = String(out.trimmingCharacters(in: CharacterSet(charactersIn: "-")).prefix(32))
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "default" : out
    }

    /// Tags for a resource created by run `runId` (nil for account-level resources).
    public func tags(name: String, runId: String? = nil, expires: Date? = nil) -> [ResourceTag] {
        var tags = [ResourceTag("Name", name), ResourceTag(Self.toolKey, Self.toolValue), ResourceTag(Self.namespaceKey, namespace)]
        if let runId { tags.append(ResourceTag(Self.runKey, runId)) }
        if let expires { tags.append(ResourceTag(Self.expiresKey, ISO8601.format(expires))) }
        return tags
    }

    /// EC2 describe filters that select exactly this namespace's resources.
    public var filters: [EC2Filter] {
        [EC2Filter("tag:\(Self.toolKey)", Self.toolValue), EC2Filter("tag:\(Self.namespaceKey)", namespace)]
    }

    /// True when `tags` mark a resource of this tool and namespace.
    public func owns(_ tags: [ResourceTag]) -> Bool {
        tags.contains(ResourceTag(Self.toolKey, Self.toolValue)) && tags.contains(ResourceTag(Self.namespaceKey, namespace))
    }

    /// True when `tags` name a different namespace: such a resource is never touched, even if a record lists it.
    public func belongsToOther(_ tags: [ResourceTag]) -> Bool {
        guard let ns = tags.first(where: { $0.key == Self.namespaceKey })?.value else { return false }
        return ns != namespace
    }

    var base: String { "\(prefix)\(namespace)" }
    /// Content-addressed so that a changed local key never collides with (or deletes) another machine's.
    public func keyPairName(fingerprintHex: String) -> String { "\(base)-automation-\(fingerprintHex.prefix(12))" }
    public var securityGroupName: String { "\(base)-linux-dev-1" }
    public var roleName: String { "\(base)-ephemeral-ec2-role-1" }
    public var instanceProfileName: String { "\(base)-ephemeral-ec2-1" }
    /// IAM path that holds this namespace's role and instance profile.
    public var iamPath: String { "/hg-automation/\(namespace)/" }
    public func instanceName(runId: String) -> String { "\(base)-\(runId)" }
    /// The launch template of a `--spot` run (one per run: it holds the run's user data).
    public func launchTemplateName(runId: String) -> String { "\(base)-\(runId)" }
}

/// A failure in the tool's own AWS logic (not an AWS API error), with an actionable message.
public struct AutomationAWSError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
