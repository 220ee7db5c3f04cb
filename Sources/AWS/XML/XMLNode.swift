/// An element of a parsed XML document: AWS Query responses need only names, text and children.
public struct XMLNode: Sendable {
    /// Local name (any namespace prefix removed).
    public var name: String
    public var attributes: [String: String]
    public var children: [XMLNode]
    /// Concatenated character data directly inside this element.
    public var text: String

    public init(name: String, attributes: [String: String] = [:], children: [XMLNode] = [], text: String = "") {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The first child with this name.
    public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// All children with this name.
    public func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }

    /// Follows a slash-separated path of child names, e.g. `"GetCallerIdentityResult/Arn"`.
    public subscript(path path: String) -> XMLNode? {
        var node: XMLNode? = self
        for part in path.split(separator: "/") { node = node?.child(String(part)) }
        return node
    }

    /// The text at `path`, or nil when an element on it is missing.
    public func string(_ path: String) -> String? { self[path: path]?.text }

    /// The elements of an AWS list wrapper: `<wrapper><item>…</item></wrapper>` (EC2) or `<member>` (IAM, STS).
    public func list(_ path: String) -> [XMLNode] {
        guard let wrapper = self[path: path] else { return [] }
        return wrapper.children.filter { $0.name == "item" || $0.name == "member" }
    }

    /// Searches depth-first for the first descendant (or self) with this name.
    public func first(named name: String) -> XMLNode? {
        if self.name == name { return self }
        for child in children { if let hit = child.first(named: name) { return hit } }
        return nil
    }
}
