@testable import AWS
import Foundation
import Testing
import TestSupport

/// moto checks SigV4 signatures only after INITIAL_NO_AUTH_ACTION_COUNT unauthenticated calls;
/// after that, only real IAM users' keys with the right secret work. This proves our signer
/// end to end on EC2 (regional), IAM (global, us-east-1) and STS requests.
@Suite("Signatures verified by moto", .requires(Fixtures.moto))
struct SignatureVerificationTests {
    @Test("valid keys pass moto's signature check; a wrong secret and an unknown key are refused with AWS's codes")
    func motoChecksOurSignatures() async throws {
        try await withMoto(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"]) { moto in
            let bootstrap = TestClients.client(moto.endpoint)
            var p = QueryParameters()
            p.set("UserName", "signer")
            _ = try await bootstrap.query(.iam, "CreateUser", p)
            let key = try await bootstrap.query(.iam, "CreateAccessKey", p)
            let id = try #require(key.string("CreateAccessKeyResult/AccessKey/AccessKeyId"))
            let secret = try #require(key.string("CreateAccessKeyResult/AccessKey/SecretAccessKey"))
            p.set("PolicyName", "all")
            p.set("PolicyDocument", #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
            _ = try await bootstrap.query(.iam, "PutUserPolicy", p)

            let good = TestClients.client(moto.endpoint, credentials: AWSCredentials(accessKeyId: id, secretAccessKey: secret, source: "test user"))
            #expect(try await STS(client: good).getCallerIdentity().arn.hasSuffix("user/signer"))
            #expect(try await EC2(client: good).describeInstances().isEmpty)
            #expect(try await IAM(client: good).listRoles(pathPrefix: "/hg-automation/").isEmpty)
            _ = try await EC2(client: good).createSecurityGroup(name: "signed group", description: "spaces & symbols: ü/+=", tags: [ResourceTag("k", "v w")])

            let wrongSecret = TestClients.client(moto.endpoint, credentials: AWSCredentials(accessKeyId: id, secretAccessKey: secret + "x", source: "a tampered key"))
            let e1 = await #expect(throws: AWSError.self) { try await EC2(client: wrongSecret).describeInstances() }
            #expect(e1?.code == "SignatureDoesNotMatch" || e1?.code == "AuthFailure")
            #expect(e1?.description.contains("check the AWS credentials (from a tampered key)") == true)

            let unknown = TestClients.client(moto.endpoint, credentials: AWSCredentials(accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x", source: "environment variables"))
            let e2 = await #expect(throws: AWSError.self) { try await STS(client: unknown).getCallerIdentity() }
            #expect(e2?.code == "InvalidClientTokenId")
            #expect(e2?.httpStatus == 403)
        }
    }
}
