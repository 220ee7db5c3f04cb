import Foundation

/// A launch template as CreateLaunchTemplate and DescribeLaunchTemplates report it.
public struct EC2LaunchTemplate: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var createTime: String
    public var tags: [ResourceTag]

    public func tag(_ key: String) -> String? { tags.first { $0.key == key }?.value }

    init(_ xml: XMLNode) {
        id = xml.string("launchTemplateId") ?? ""
        name = xml.string("launchTemplateName") ?? ""
        createTime = xml.string("createTime") ?? ""
        tags = EC2.tags(xml)
    }
}

/// What a launch template holds: everything RunInstances would get except the instance type,
/// which the fleet's overrides choose.
public struct LaunchTemplateRequest: Sendable {
    /// 3-128 characters of `A-Za-z0-9().-/_`; the account's template names are unique.
    public var name: String
    public var imageId: String
    public var keyName: String?
    public var securityGroupIds: [String]
    public var instanceProfileName: String?
    public var userData: String?
    /// Tags of the instances and volumes launched from the template.
    public var instanceTags: [ResourceTag]
    /// Tags of the template itself.
    public var templateTags: [ResourceTag]
    public var clientToken: String?
    public var rootVolumeSize: Int?
    public var rootDeviceName: String?
    public var workdirVolumeSize: Int?

    public init(name: String, imageId: String, keyName: String? = nil, securityGroupIds: [String] = [], instanceProfileName: String? = nil,
                userData: String? = nil, instanceTags: [ResourceTag] = [], templateTags: [ResourceTag] = [], clientToken: String? = nil,
                rootVolumeSize: Int? = nil, rootDeviceName: String? = nil, workdirVolumeSize: Int? = nil) {
        self.name = name
        self.imageId = imageId
        self.keyName = keyName
        self.securityGroupIds = securityGroupIds
        self.instanceProfileName = instanceProfileName
        self.userData = userData
        self.instanceTags = instanceTags
        self.templateTags = templateTags
        self.clientToken = clientToken
        self.rootVolumeSize = rootVolumeSize
        self.rootDeviceName = rootDeviceName
        self.workdirVolumeSize = workdirVolumeSize
    }

    /// Whether `name` is a name EC2 accepts for a launch template.
    public static func isValidName(_ name: String) -> Bool {
        (3...128).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "().-/_".contains($0)) }
    }
}

/// One `instant` EC2 Fleet: N instances of any of `instanceTypes`, spot or on-demand.
public struct FleetRequest: Sendable {
    public enum Capacity: String, Sendable {
        case spot
        case onDemand = "on-demand"
    }

    public var launchTemplateId: String
    public var instanceTypes: [String]
    public var count: Int
    public var capacity: Capacity
    /// Tags of the fleet object itself (instances take theirs from the template).
    public var tags: [ResourceTag]
    public var clientToken: String?

    public init(launchTemplateId: String, instanceTypes: [String], count: Int, capacity: Capacity, tags: [ResourceTag] = [],
                clientToken: String? = nil) {
        self.launchTemplateId = launchTemplateId
        self.instanceTypes = instanceTypes
        self.count = count
        self.capacity = capacity
        self.tags = tags
        self.clientToken = clientToken
    }

    /// Spot: `price-capacity-optimized` (the pools least likely to be interrupted, among the
    /// cheapest). On-demand: `lowest-price` among the allowed types.
    public static let spotAllocationStrategy = "price-capacity-optimized"
    public static let onDemandAllocationStrategy = "lowest-price"
}

/// The answer of an `instant` fleet: the instances it launched, and why it launched no more.
public struct FleetResult: Sendable, Equatable {
    public struct Instance: Sendable, Equatable {
        public var id: String
        public var instanceType: String
        /// `spot` or `on-demand`.
        public var lifecycle: String
    }

    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        public var code: String
        public var message: String
        public var instanceType: String?
        public var lifecycle: String?

        public var description: String {
            "\(code)\(instanceType.map { " (\($0)\(lifecycle.map { " \($0)" } ?? ""))" } ?? ""): \(message)"
        }
    }

    public var fleetId: String
    public var instances: [Instance]
    public var errors: [Failure]

    /// Parses a CreateFleet response; every instance id must look like one.
    public init(_ xml: XMLNode) throws {
        fleetId = xml.string("fleetId") ?? ""
        var instances: [Instance] = []
        for item in xml.list("fleetInstanceSet") {
            let type = item.string("instanceType") ?? item.string("launchTemplateAndOverrides/overrides/instanceType") ?? ""
            let lifecycle = item.string("lifecycle") ?? "on-demand"
            for id in item.list("instanceIds").map(\.text) {
                guard id.hasPrefix("i-"), id.count <= 32 else {
                    throw AutomationAWSError("CreateFleet returned \"\(id.prefix(40))\" where an instance id belongs")
                }
                instances.append(Instance(id: id, instanceType: type, lifecycle: lifecycle))
            }
        }
        self.instances = instances
        errors = xml.list("errorSet").map { item in
            Failure(code: item.string("errorCode") ?? "Unknown", message: item.string("errorMessage") ?? "",
                    instanceType: item.string("launchTemplateAndOverrides/overrides/instanceType"), lifecycle: item.string("lifecycle"))
        }
    }
}

/// The Linux/UNIX spot price of one instance type in one availability zone.
public struct SpotPrice: Sendable, Equatable {
    public var instanceType: String
    public var availabilityZone: String
    /// US dollars per hour.
    public var price: Double
    public var timestamp: String

    /// Spot prices never exceed the on-demand price, and no instance type costs $1000/h on demand.
    public static let plausible: ClosedRange<Double> = 0.000001...1000

    /// Parses one history item, refusing prices that are not a plausible number of dollars per hour.
    public init(_ xml: XMLNode) throws {
        instanceType = xml.string("instanceType") ?? ""
        availabilityZone = xml.string("availabilityZone") ?? ""
        timestamp = xml.string("timestamp") ?? ""
        let text = xml.string("spotPrice") ?? ""
        guard let price = Double(text), price.isFinite, Self.plausible.contains(price) else {
            throw AutomationAWSError("DescribeSpotPriceHistory returned the spot price \"\(text.prefix(40))\" for \(instanceType) in "
                                     + "\(availabilityZone); expected dollars per hour between \(Self.plausible.lowerBound) and \(Self.plausible.upperBound)")
        }
        self.price = price
    }

    public init(instanceType: String, availabilityZone: String, price: Double, timestamp: String) {
        self.instanceType = instanceType
        self.availabilityZone = availabilityZone
        self.price = price
        self.timestamp = timestamp
    }

    /// The latest price per (type, zone): history answers may hold older entries too.
    public static func latest(_ prices: [SpotPrice]) -> [SpotPrice] {
        var byPool: [String: SpotPrice] = [:]
        for price in prices {
            let key = price.instanceType + " " + price.availabilityZone
            if let seen = byPool[key], seen.timestamp >= price.timestamp { continue }
            byPool[key] = price
        }
        return byPool.values.sorted { ($0.instanceType, $0.availabilityZone) < ($1.instanceType, $1.availabilityZone) }
    }

    /// The cheapest latest price of each type, across zones.
    public static func cheapest(_ prices: [SpotPrice]) -> [String: SpotPrice] {
        var best: [String: SpotPrice] = [:]
        for price in latest(prices) where best[price.instanceType].map({ price.price < $0.price }) ?? true {
            best[price.instanceType] = price
        }
        return best
    }
}
