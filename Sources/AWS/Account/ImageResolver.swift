/// A base distribution that `--distro` can name.
public struct Distro: Sendable, Equatable {
    public let name: String
    /// SSM public parameter holding the current AMI id.
    public let ssmParameter: String
    public let owner: String
    public let namePattern: String
    /// The distribution's default login user.
    public let defaultUser: String

    public static let all: [Distro] = [
        Distro(name: "debian12", ssmParameter: "/aws/service/debian/release/12/latest/amd64", owner: "136693071363",
               namePattern: "debian-12-amd64-*", defaultUser: "admin"),
        Distro(name: "debian11", ssmParameter: "/aws/service/debian/release/11/latest/amd64", owner: "136693071363",
               namePattern: "debian-11-amd64-*", defaultUser: "admin"),
        Distro(name: "ubuntu24.04", ssmParameter: "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
               owner: "099720109477", namePattern: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*", defaultUser: "ubuntu"),
        Distro(name: "ubuntu22.04", ssmParameter: "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
               owner: "099720109477", namePattern: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*", defaultUser: "ubuntu"),
    ]

    public static let defaultName = "debian12"

    public static func named(_ name: String) throws -> Distro {
        guard let d = all.first(where: { $0.name == name }) else {
            throw AutomationAWSError("unknown distro \"\(name)\"; choose one of \(all.map(\.name).joined(separator: ", ")) or pass --image")
        }
        return d
    }
}

extension AWSAutomation {
    /// The AMI for a distro: its SSM public parameter first (one cheap call), then the newest
    /// image of the publisher's account whose name matches.
    public func resolveImage(distro: Distro) async throws -> String {
        if let id = try await ssm.getParameter(distro.ssmParameter), id.hasPrefix("ami-") { return id }
        guard let image = try await ec2.newestImage(owner: distro.owner, namePattern: distro.namePattern) else {
            throw AutomationAWSError("no available \(distro.name) image in \(region): SSM parameter \(distro.ssmParameter) is missing and owner \(distro.owner) has no image named \(distro.namePattern); pass --image ami-…")
        }
        return image.id
    }
}
