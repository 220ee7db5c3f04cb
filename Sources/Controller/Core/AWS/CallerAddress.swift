import AWS
import Foundation

/// This machine's public IPv4 address, for a security group rule that admits only us.
enum CallerAddress {
    /// Asks checkip (or $AUTOMATION_CHECKIP_URL) and returns `<address>/32`.
    static func publicCIDR(http: HTTPClient) async throws -> String {
        let url = ProcessInfo.processInfo.environment["AUTOMATION_CHECKIP_URL"] ?? "https://checkip.amazonaws.com/"
        do {
            let response = try await http.send(HTTPRequest(method: "GET", url: url, timeout: .seconds(10)))
            let address = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard response.status == 200, isIPv4CIDR(address + "/32") else {
                throw UsageError("\(url) answered HTTP \(response.status) \(address.prefix(60)); pass --ssh-cidr ADDRESS/32")
            }
            return address + "/32"
        } catch let error as HTTPError {
            throw UsageError("cannot determine this machine's public address from \(url) (\(error)); pass --ssh-cidr ADDRESS/32")
        }
    }

    static func isIPv4CIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let bits = Int(parts[1]), (0...32).contains(bits) else { return false }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { Int($0).map { (0...255).contains($0) } ?? false }
    }
}
