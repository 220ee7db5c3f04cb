import Foundation

/// Amazon EC2 calls (Query protocol, XML responses).
public struct EC2: Sendable {
    public let client: AWSClient
    /// Page size for paginated describes (AWS allows 5 to 1000).
    public var pageSize: Int

    public init(client: AWSClient, pageSize: Int = 1000) {
        self.client = client
        self.pageSize = pageSize
    }

    func call(_ action: String, _ parameters: QueryParameters = QueryParameters()) async throws -> XMLNode {
        try await client.query(.ec2, action, parameters)
    }

    /// Follows NextToken until the last page; `paged` is false where MaxResults is not allowed (e.g. with explicit ids).
    func paginate(_ action: String, _ parameters: QueryParameters, list: String, paged: Bool = true) async throws -> [XMLNode] {
        var items: [XMLNode] = []
        var token: String?
        repeat {
            var p = parameters
            if paged { p.set("MaxResults", String(pageSize)) }
            p.set("NextToken", token)
            let xml = try await call(action, p)
            items += xml.list(list)
            token = xml.string("nextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return items
    }

    static func tags(_ xml: XMLNode) -> [ResourceTag] {
        xml.list("tagSet").compactMap { item in
            guard let key = item.string("key") else { return nil }
            return ResourceTag(key, item.string("value") ?? "")
        }
    }

    /// Tags existing resources.
    public func createTags(_ resourceIds: [String], tags: [ResourceTag]) async throws {
        var p = QueryParameters()
        p.list("ResourceId", resourceIds)
        for (i, tag) in tags.enumerated() {
            p.set("Tag.\(i + 1).Key", tag.key)
            p.set("Tag.\(i + 1).Value", tag.value)
        }
        _ = try await call("CreateTags", p)
    }

    /// Polls `check` every `interval` until it returns a value, or throws ``WaitTimeoutError`` after `timeout`.
    public static func poll<T>(_ what: String, timeout: Duration, interval: Duration = .seconds(2),
                               _ check: () async throws -> (T?, String)) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var last = "nothing yet"
        while true {
            let (value, state) = try await check()
            if let value { return value }
            last = state
            if clock.now + interval > deadline { throw WaitTimeoutError(what: what, timeout: timeout, lastState: last) }
            try await Task.sleep(for: interval)
        }
    }
}
