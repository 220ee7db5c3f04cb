@testable import AWS
import Testing
import TestSupport

@Suite("STS against moto", .requires(Fixtures.moto))
struct STSTests {
    @Test("GetCallerIdentity through our HTTP client and signer")
    func callerIdentity() async throws {
        try await withMoto { moto in
            let identity = try await STS(client: TestClients.client(moto.endpoint)).getCallerIdentity()
            #expect(identity.account == "123456789012")
            #expect(identity.arn.hasPrefix("arn:aws:"))
        }
    }
}
