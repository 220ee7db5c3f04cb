/// Parameters of an AWS Query-protocol call, in the flattened `Name.1.Sub` form.
public struct QueryParameters: Sendable {
    public private(set) var pairs: [(String, String)] = []

    public init(_ pairs: [(String, String)] = []) { self.pairs = pairs }

    /// Adds one parameter; nil values are skipped.
    public mutating func set(_ name: String, _ value: String?) {
        if let value { pairs.append((name, value)) }
    }

    /// EC2 list style: `Name.1`, `Name.2`, …
    public mutating func list(_ name: String, _ values: [String]) {
        for (i, v) in values.enumerated() { pairs.append(("\(name).\(i + 1)", v)) }
    }

    /// IAM/STS list style: `Name.member.1`, …
    public mutating func members(_ name: String, _ values: [String]) {
        for (i, v) in values.enumerated() { pairs.append(("\(name).member.\(i + 1)", v)) }
    }

    /// EC2 filters: `Filter.N.Name`, `Filter.N.Value.M`.
    public mutating func filters(_ filters: [EC2Filter]) {
        for (i, f) in filters.enumerated() {
            pairs.append(("Filter.\(i + 1).Name", f.name))
            for (j, v) in f.values.enumerated() { pairs.append(("Filter.\(i + 1).Value.\(j + 1)", v)) }
        }
    }

    /// EC2 TagSpecifications for several resource types at once, under `prefix`
    /// (`LaunchTemplateData.` for the tags a launch template gives its instances).
    public mutating func tagSpecifications(_ resourceTypes: [String], tags: [ResourceTag], prefix: String = "") {
        guard !tags.isEmpty else { return }
        for (i, type) in resourceTypes.enumerated() {
            pairs.append(("\(prefix)TagSpecification.\(i + 1).ResourceType", type))
            for (j, tag) in tags.enumerated() {
                pairs.append(("\(prefix)TagSpecification.\(i + 1).Tag.\(j + 1).Key", tag.key))
                pairs.append(("\(prefix)TagSpecification.\(i + 1).Tag.\(j + 1).Value", tag.value))
            }
        }
    }

    /// IAM tags: `Tags.member.N.Key` / `.Value`.
    public mutating func iamTags(_ tags: [ResourceTag]) {
        for (i, tag) in tags.enumerated() {
            pairs.append(("Tags.member.\(i + 1).Key", tag.key))
            pairs.append(("Tags.member.\(i + 1).Value", tag.value))
        }
    }
}

/// An EC2 describe filter.
public struct EC2Filter: Sendable {
    public let name: String
    public let values: [String]
    public init(_ name: String, _ values: [String]) {
        self.name = name
        self.values = values
    }
    public init(_ name: String, _ value: String) { self.init(name, [value]) }
}

/// A key/value tag on an AWS resource.
public struct ResourceTag: Sendable, Equatable, Codable, Hashable {
    public let key: String
    public let value: String
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}
