/// An EC2 instance as DescribeInstances reports it.
public struct EC2Instance: Sendable, Equatable, Codable {
    public var id: String
    /// pending, running, shutting-down, terminated, stopping, stopped.
    public var state: String
    public var publicIp: String?
    public var privateIp: String?
    public var launchIndex: Int
    public var imageId: String
    public var instanceType: String
    public var launchTime: String?
    /// `spot` for Spot Instances; nil (EC2 sends nothing) for on-demand.
    public var lifecycle: String?
    public var availabilityZone: String?
    public var tags: [ResourceTag]

    /// The value of tag `key`.
    public func tag(_ key: String) -> String? { tags.first { $0.key == key }?.value }

    init(_ xml: XMLNode) {
        id = xml.string("instanceId") ?? ""
        state = xml.string("instanceState/name") ?? "unknown"
        publicIp = xml.string("ipAddress")
        privateIp = xml.string("privateIpAddress")
        launchIndex = Int(xml.string("amiLaunchIndex") ?? "0") ?? 0
        imageId = xml.string("imageId") ?? ""
        instanceType = xml.string("instanceType") ?? ""
        launchTime = xml.string("launchTime")
        lifecycle = xml.string("instanceLifecycle").flatMap { $0.isEmpty ? nil : $0 }
        availabilityZone = xml.string("placement/availabilityZone").flatMap { $0.isEmpty ? nil : $0 }
        tags = EC2.tags(xml)
    }
}

/// An AMI.
public struct EC2Image: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var ownerId: String
    public var state: String
    public var creationDate: String
    public var architecture: String
    /// The root volume's device name (`/dev/xvda` on Debian's images, `/dev/sda1` on Ubuntu's).
    public var rootDeviceName: String?
    public var snapshotIds: [String]
    public var tags: [ResourceTag]

    public func tag(_ key: String) -> String? { tags.first { $0.key == key }?.value }

    init(_ xml: XMLNode) {
        id = xml.string("imageId") ?? ""
        name = xml.string("name") ?? ""
        ownerId = xml.string("imageOwnerId") ?? ""
        state = xml.string("imageState") ?? ""
        creationDate = xml.string("creationDate") ?? ""
        architecture = xml.string("architecture") ?? ""
        rootDeviceName = xml.string("rootDeviceName")
        snapshotIds = xml.list("blockDeviceMapping").compactMap { $0.string("ebs/snapshotId") }
        tags = EC2.tags(xml)
    }
}

/// A security group and its SSH ingress ranges.
public struct EC2SecurityGroup: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var vpcId: String?
    /// IPv4 CIDRs allowed to reach TCP port 22.
    public var sshCidrs: [String]
    public var tags: [ResourceTag]

    public func tag(_ key: String) -> String? { tags.first { $0.key == key }?.value }

    init(_ xml: XMLNode) {
        id = xml.string("groupId") ?? ""
        name = xml.string("groupName") ?? ""
        vpcId = xml.string("vpcId")
        sshCidrs = xml.list("ipPermissions").filter { perm in
            let from = Int(perm.string("fromPort") ?? "") ?? -1
            let to = Int(perm.string("toPort") ?? "") ?? -1
            return perm.string("ipProtocol") == "-1" || (from <= 22 && 22 <= to)
        }.flatMap { $0.list("ipRanges").compactMap { $0.string("cidrIp") } }
        tags = EC2.tags(xml)
    }
}

/// A key pair registered with EC2.
public struct EC2KeyPair: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var fingerprint: String
    public var tags: [ResourceTag]

    public func tag(_ key: String) -> String? { tags.first { $0.key == key }?.value }

    init(_ xml: XMLNode) {
        id = xml.string("keyPairId") ?? ""
        name = xml.string("keyName") ?? ""
        fingerprint = xml.string("keyFingerprint") ?? ""
        tags = EC2.tags(xml)
    }
}

/// What to launch in one RunInstances call.
public struct RunInstancesRequest: Sendable {
    public var imageId: String
    public var instanceType: String
    public var count: Int
    public var keyName: String?
    public var securityGroupIds: [String]
    public var instanceProfileName: String?
    public var userData: String?
    public var tags: [ResourceTag]
    public var subnetId: String?
    public var clientToken: String?
    /// Root volume size in GiB; nil keeps the image's.
    public var rootVolumeSize: Int?
    public var rootDeviceName: String?
    /// An extra empty gp3 volume in GiB at ``workdirDeviceName``, deleted with the
    /// instance (the disk `prepare-workdir` puts /hgwork on); nil for none.
    public var workdirVolumeSize: Int?
    /// Where the extra volume attaches (Nitro instances show it as an NVMe disk whatever the name).
    public static let workdirDeviceName = "/dev/sdf"

    public init(imageId: String, instanceType: String, count: Int, keyName: String? = nil, securityGroupIds: [String] = [],
                instanceProfileName: String? = nil, userData: String? = nil, tags: [ResourceTag] = [], subnetId: String? = nil,
                clientToken: String? = nil, rootVolumeSize: Int? = nil, rootDeviceName: String? = nil) {
        self.imageId = imageId
        self.instanceType = instanceType
        self.count = count
        self.keyName = keyName
        self.securityGroupIds = securityGroupIds
        self.instanceProfileName = instanceProfileName
        self.userData = userData
        self.tags = tags
        self.subnetId = subnetId
        self.clientToken = clientToken
        self.rootVolumeSize = rootVolumeSize
        self.rootDeviceName = rootDeviceName
    }
}
