/// AWS Identity and Access Management calls (Query protocol, global endpoint).
public struct IAM: Sendable {
    public let client: AWSClient
    /// MaxItems for list calls.
    public var pageSize: Int

    public init(client: AWSClient, pageSize: Int = 1000) {
        self.client = client
        self.pageSize = pageSize
    }

    public struct Role: Sendable, Equatable {
        public let name: String
        public let arn: String
        public let path: String
        init(_ xml: XMLNode) {
            name = xml.string("RoleName") ?? ""
            arn = xml.string("Arn") ?? ""
            path = xml.string("Path") ?? "/"
        }
    }

    public struct InstanceProfile: Sendable, Equatable {
        public let name: String
        public let arn: String
        public let path: String
        public let roleNames: [String]
        init(_ xml: XMLNode) {
            name = xml.string("InstanceProfileName") ?? ""
            arn = xml.string("Arn") ?? ""
            path = xml.string("Path") ?? "/"
            roleNames = xml.list("Roles").compactMap { $0.string("RoleName") }
        }
    }

    func call(_ action: String, _ parameters: QueryParameters = QueryParameters()) async throws -> XMLNode {
        try await client.query(.iam, action, parameters)
    }

    /// Follows Marker while IsTruncated is true.
    func paginate(_ action: String, _ parameters: QueryParameters, list: String) async throws -> [XMLNode] {
        var items: [XMLNode] = []
        var marker: String?
        repeat {
            var p = parameters
            p.set("MaxItems", String(pageSize))
            p.set("Marker", marker)
            let result = try await call(action, p).child("\(action)Result")
            items += result?.list(list) ?? []
            marker = result?.string("IsTruncated") == "true" ? result?.string("Marker") : nil
        } while marker != nil
        return items
    }

    /// Returns nil instead of throwing when IAM says NoSuchEntity.
    static func orNil<T>(_ body: () async throws -> T) async throws -> T? {
        do { return try await body() } catch let error as AWSError where error.code == "NoSuchEntity" { return nil }
    }

    public func createRole(name: String, path: String, trustPolicy: String, description: String, tags: [ResourceTag]) async throws -> Role {
        var p = QueryParameters()
        p.set("RoleName", name)
        p.set("Path", path)
        p.set("AssumeRolePolicyDocument", trustPolicy)
        p.set("Description", description)
        p.iamTags(tags)
        return Role(try await call("CreateRole", p)[path: "CreateRoleResult/Role"] ?? XMLNode(name: "Role"))
    }

    public func getRole(name: String) async throws -> Role? {
        var p = QueryParameters()
        p.set("RoleName", name)
        return try await Self.orNil { Role(try await call("GetRole", p)[path: "GetRoleResult/Role"] ?? XMLNode(name: "Role")) }
    }

    public func listRoles(pathPrefix: String) async throws -> [Role] {
        var p = QueryParameters()
        p.set("PathPrefix", pathPrefix)
        return try await paginate("ListRoles", p, list: "Roles").map(Role.init).filter { $0.path.hasPrefix(pathPrefix) }
    }

    public func deleteRole(name: String) async throws {
        var p = QueryParameters()
        p.set("RoleName", name)
        _ = try await call("DeleteRole", p)
    }

    public func attachRolePolicy(role: String, policyArn: String) async throws {
        var p = QueryParameters()
        p.set("RoleName", role)
        p.set("PolicyArn", policyArn)
        _ = try await call("AttachRolePolicy", p)
    }

    public func detachRolePolicy(role: String, policyArn: String) async throws {
        var p = QueryParameters()
        p.set("RoleName", role)
        p.set("PolicyArn", policyArn)
        _ = try await call("DetachRolePolicy", p)
    }

    public func listAttachedRolePolicies(role: String) async throws -> [String] {
        var p = QueryParameters()
        p.set("RoleName", role)
        return try await paginate("ListAttachedRolePolicies", p, list: "AttachedPolicies").compactMap { $0.string("PolicyArn") }
    }

    public func createInstanceProfile(name: String, path: String, tags: [ResourceTag]) async throws -> InstanceProfile {
        var p = QueryParameters()
        p.set("InstanceProfileName", name)
        p.set("Path", path)
        p.iamTags(tags)
        return InstanceProfile(try await call("CreateInstanceProfile", p)[path: "CreateInstanceProfileResult/InstanceProfile"] ?? XMLNode(name: "x"))
    }

    public func getInstanceProfile(name: String) async throws -> InstanceProfile? {
        var p = QueryParameters()
        p.set("InstanceProfileName", name)
        return try await Self.orNil {
            InstanceProfile(try await call("GetInstanceProfile", p)[path: "GetInstanceProfileResult/InstanceProfile"] ?? XMLNode(name: "x"))
        }
    }

    /// Instance profiles under `pathPrefix` (filtered here too, since not every implementation honours PathPrefix).
    public func listInstanceProfiles(pathPrefix: String) async throws -> [InstanceProfile] {
        var p = QueryParameters()
        p.set("PathPrefix", pathPrefix)
        return try await paginate("ListInstanceProfiles", p, list: "InstanceProfiles").map(InstanceProfile.init).filter { $0.path.hasPrefix(pathPrefix) }
    }

    public func addRoleToInstanceProfile(profile: String, role: String) async throws {
        var p = QueryParameters()
        p.set("InstanceProfileName", profile)
        p.set("RoleName", role)
        _ = try await call("AddRoleToInstanceProfile", p)
    }

    public func removeRoleFromInstanceProfile(profile: String, role: String) async throws {
        var p = QueryParameters()
        p.set("InstanceProfileName", profile)
        p.set("RoleName", role)
        _ = try await call("RemoveRoleFromInstanceProfile", p)
    }

    public func deleteInstanceProfile(name: String) async throws {
        var p = QueryParameters()
        p.set("InstanceProfileName", name)
        _ = try await call("DeleteInstanceProfile", p)
    }
}
