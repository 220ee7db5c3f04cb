@testable import AWS
import Foundation
import Testing
import TestSupport

/// One signing input, given to both our signer and botocore's.
struct SigningCase: Codable {
    var method = "POST"
    var scheme = "https"
    var host = "ec2.us-west-2.amazonaws.com"
    var path = "/"
    var params: [[String]] = []
    var headers: [[String]] = [["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"]]
    var body = "Action=DescribeInstances&Version=2016-11-15"
    var service = "ec2"
    var region = "us-west-2"
    var token: String?
    var timestamp = "20261126T073000Z"
}

@Suite("SigV4 matches botocore", .requires(Fixtures.moto))
struct SigV4Tests {
    static let cases: [(String, SigningCase)] = {
        var list: [(String, SigningCase)] = [("plain EC2 query POST", SigningCase())]
        var c = SigningCase(); c.token = "FQoGZXIvYXdzE//session+token/with=chars"
        list.append(("session token", c))
        c = SigningCase(); c.service = "iam"; c.region = "us-east-1"; c.host = "iam.amazonaws.com"
        list.append(("global IAM endpoint", c))
        c = SigningCase(); c.headers = [["Content-Type", "application/x-amz-json-1.1"], ["X-Amz-Target", "AmazonSSM.SendCommand"]]
        c.body = #"{"DocumentName":"AWS-RunShellScript","InstanceIds":["i-1"]}"#; c.service = "ssm"; c.host = "ssm.us-west-2.amazonaws.com"
        list.append(("JSON 1.1 with X-Amz-Target", c))
        c = SigningCase(); c.scheme = "http"; c.host = "127.0.0.1:41234"
        list.append(("non-default port in host", c))
        c = SigningCase(); c.method = "GET"; c.body = ""
        c.params = [["Action", "DescribeImages"], ["Filter.1.Value.1", "debian-12-*"], ["Owner.1", "136693071363"], ["a b", "c d"],
                    ["reserved", "!*'();:@&=+$,/?#[]"], ["unicode", "Grüße ☃"], ["tilde~", "~x_y-z.w"], ["empty", ""], ["dup", "2"], ["dup", "1"]]
        list.append(("query escaping, repeats and empty values", c))
        c = SigningCase(); c.method = "GET"; c.body = ""; c.path = "/a%20b/./c/../d//e~f/%C3%BC/"
        list.append(("path normalisation and double escaping", c))
        c = SigningCase(); c.path = "/foo/bar%2Fbaz/%2A"
        list.append(("encoded slash and star in path", c))
        c = SigningCase(); c.headers = [["X-Amz-Meta-Spaces", "  a   b\tc  "], ["content-type", "text/plain"], ["X-Custom", "1"]]
        list.append(("header trimming and sorting", c))
        c = SigningCase(); c.body = "Tag.1.Value=caf%C3%A9%20%E2%98%83&Action=CreateTags"
        list.append(("non-ASCII body", c))
        return list
    }()

    @Test("our Authorization header equals botocore's for every case")
    func matchesBotocore() throws {
        guard let python = Fixtures.python3 else { throw FixtureError(description: "python3 with botocore is required") }
        let creds = TestClients.credentials
        var input: [[String: Any]] = []
        for (_, c) in Self.cases {
            var item: [String: Any] = [
                "method": c.method, "url": "\(c.scheme)://\(c.host)\(c.path)", "params": c.params, "headers": c.headers,
                "body": c.body, "service": c.service, "region": c.region, "access_key": creds.accessKeyId,
                "secret_key": creds.secretAccessKey, "timestamp": c.timestamp,
            ]
            if let t = c.token { item["token"] = t }
            input.append(item)
        }
        let script = Fixtures.repoRoot.appendingPathComponent("Tests/AWSTests/Fixtures/botocore_sign.py").path
        let run = try Fixtures.runPython(python, [script], stdin: try JSONSerialization.data(withJSONObject: input))
        try #require(run.status == 0, "botocore signer failed: \(run.stderr)")
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(expected.count == Self.cases.count)
        for ((name, c), reference) in zip(Self.cases, expected) {
            var credentials = creds
            credentials.sessionToken = c.token
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            let date = try #require(formatter.date(from: c.timestamp))
            let request = SigV4Signer.Request(method: c.method, host: c.host, path: c.path, query: c.params.map { ($0[0], $0[1]) },
                                              headers: c.headers.map { ($0[0], $0[1]) }, body: Array(c.body.utf8))
            let signed = SigV4Signer(service: c.service, region: c.region).sign(request, credentials: credentials, date: date)
            let authorization = signed.first { $0.0 == "Authorization" }?.1
            #expect(authorization == reference["authorization"] as? String, "case \(name)")
            #expect(signed.first { $0.0 == "X-Amz-Date" }?.1 == reference["x_amz_date"] as? String, "case \(name)")
            if authorization != reference["authorization"] as? String {
                var headers = request.headers + signed.filter { $0.0 != "Authorization" }
                headers.append(("host", c.host))
                let ours = SigV4Signer(service: c.service, region: c.region).canonicalRequest(request, headers: headers).text
                Issue.record("case \(name): canonical request differs\nours:\n\(ours)\nbotocore:\n\(reference["canonical_request"] ?? "")")
            }
        }
    }

    @Test("known AWS test vector: get-vanilla from the SigV4 test suite")
    func awsTestVector() {
        // From the AWS SigV4 test suite (get-vanilla), credentials AKIDEXAMPLE.
        let creds = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", source: "test")
        let request = SigV4Signer.Request(method: "GET", host: "example.amazonaws.com", path: "/")
        let date = Date(timeIntervalSince1970: 1_440_938_160) // 2015-08-30T12:36:00Z
        let signed = SigV4Signer(service: "service", region: "us-east-1").sign(request, credentials: creds, date: date)
        #expect(signed.first { $0.0 == "Authorization" }?.1 == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }
}
