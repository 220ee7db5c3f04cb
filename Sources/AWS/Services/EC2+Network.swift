import Foundation

extension EC2 {
    /// Registers a public key that was generated locally; AWS never sees the private key.
    public func importKeyPair(name: String, publicKey: String, tags: [ResourceTag]) async throws -> EC2KeyPair {
        var p = QueryParameters()
        p.set("KeyName", name)
        p.set("PublicKeyMaterial", Data(publicKey.utf8).base64EncodedString())
        p.tagSpecifications(["key-pair"], tags: tags)
        let xml = try await call("ImportKeyPair", p)
        return EC2KeyPair(xml)
    }

    public func describeKeyPairs(names: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2KeyPair] {
        var p = QueryParameters()
        p.list("KeyName", names)
        p.filters(filters)
        return try await call("DescribeKeyPairs", p).list("keySet").map(EC2KeyPair.init)
    }

    public func deleteKeyPair(name: String) async throws {
        var p = QueryParameters()
        p.set("KeyName", name)
        _ = try await call("DeleteKeyPair", p)
    }

    /// Creates a security group (in the default VPC unless `vpcId` is given) and returns its id.
    public func createSecurityGroup(name: String, description: String, vpcId: String? = nil, tags: [ResourceTag]) async throws -> String {
        var p = QueryParameters()
        p.set("GroupName", name)
        p.set("GroupDescription", description)
        p.set("VpcId", vpcId)
        p.tagSpecifications(["security-group"], tags: tags)
        let xml = try await call("CreateSecurityGroup", p)
        guard let id = xml.string("groupId") else {
            throw AWSError(service: "ec2", operation: "CreateSecurityGroup", code: "MalformedResponse", message: "no groupId", httpStatus: 200)
        }
        return id
    }

    public func describeSecurityGroups(ids: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2SecurityGroup] {
        var p = QueryParameters()
        p.list("GroupId", ids)
        p.filters(filters)
        return try await paginate("DescribeSecurityGroups", p, list: "securityGroupInfo", paged: ids.isEmpty).map(EC2SecurityGroup.init)
    }

    /// Allows TCP 22 from `cidr`; an already present rule is not an error.
    public func authorizeSSH(groupId: String, cidr: String, description: String) async throws {
        var p = QueryParameters()
        p.set("GroupId", groupId)
        p.set("IpPermissions.1.IpProtocol", "tcp")
        p.set("IpPermissions.1.FromPort", "22")
        p.set("IpPermissions.1.ToPort", "22")
        p.set("IpPermissions.1.IpRanges.1.CidrIp", cidr)
        p.set("IpPermissions.1.IpRanges.1.Description", description)
        do {
            _ = try await call("AuthorizeSecurityGroupIngress", p)
        } catch let error as AWSError where error.code == "InvalidPermission.Duplicate" {
            return
        }
    }

    public func deleteSecurityGroup(id: String) async throws {
        var p = QueryParameters()
        p.set("GroupId", id)
        _ = try await call("DeleteSecurityGroup", p)
    }
}
