extension EC2 {
    /// Images matching owners, ids and filters, across all pages.
    public func describeImages(owners: [String] = [], ids: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Image] {
        var p = QueryParameters()
        p.list("Owner", owners)
        p.list("ImageId", ids)
        p.filters(filters)
        // DescribeImages paginates only when asked with MaxResults; ids and MaxResults do not mix.
        return try await paginate("DescribeImages", p, list: "imagesSet", paged: ids.isEmpty).map(EC2Image.init)
    }

    /// The newest available machine image of `owner` whose name matches `namePattern` (wildcards allowed).
    public func newestImage(owner: String, namePattern: String, architecture: String = "x86_64") async throws -> EC2Image? {
        let images = try await describeImages(owners: [owner], filters: [
            EC2Filter("name", namePattern), EC2Filter("state", "available"), EC2Filter("architecture", architecture),
            EC2Filter("image-type", "machine"),
        ])
        // ISO 8601 creation dates sort as text; the name (which carries a date for Debian and Ubuntu) breaks ties.
        return images.max { ($0.creationDate, $0.name) < ($1.creationDate, $1.name) }
    }

    /// Creates an AMI from an instance, tagging the image in the same call.
    public func createImage(instanceId: String, name: String, description: String, tags: [ResourceTag]) async throws -> String {
        var p = QueryParameters()
        p.set("InstanceId", instanceId)
        p.set("Name", name)
        p.set("Description", description)
        p.tagSpecifications(["image"], tags: tags)
        let xml = try await call("CreateImage", p)
        guard let id = xml.string("imageId") else {
            throw AWSError(service: "ec2", operation: "CreateImage", code: "MalformedResponse", message: "no imageId", httpStatus: 200)
        }
        return id
    }

    public func waitForImage(_ id: String, timeout: Duration, interval: Duration = .seconds(5)) async throws -> EC2Image {
        try await EC2.poll("image \(id) to become available", timeout: timeout, interval: interval) {
            let image = try await describeImages(ids: [id]).first
            if image?.state == "failed" {
                throw AWSError(service: "ec2", operation: "CreateImage", code: "ImageFailed", message: "image \(id) entered state failed", httpStatus: 200)
            }
            return (image?.state == "available" ? image : nil, image?.state ?? "not visible yet")
        }
    }

    public func deregisterImage(_ id: String) async throws {
        var p = QueryParameters()
        p.set("ImageId", id)
        _ = try await call("DeregisterImage", p)
    }

    public func deleteSnapshot(_ id: String) async throws {
        var p = QueryParameters()
        p.set("SnapshotId", id)
        _ = try await call("DeleteSnapshot", p)
    }
}
