@testable import AWS
import Foundation
import Testing

@Suite("XML parsing")
struct XMLParsingTests {
    @Test("elements, entities, CDATA, namespaces, comments and self-closing tags")
    func parsesAWSShapes() throws {
        let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <DescribeThingsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <!-- a comment -->
          <requestId>r-1</requestId>
          <tagSet><item><key>a&amp;b</key><value>&lt;x&gt; &#233;&#x263A; &quot;q&quot; &apos;s&apos;</value></item><item><key>empty</key><value/></item></tagSet>
          <ns:data xmlns:ns="urn:x"><![CDATA[<raw> & stuff]]></ns:data>
          <nextToken/>
        </DescribeThingsResponse>
        """
        let root = try AWSXMLParser.parse(Array(xml.utf8))
        #expect(root.name == "DescribeThingsResponse")
        #expect(root.string("requestId") == "r-1")
        let tags = EC2.tags(root)
        #expect(tags == [ResourceTag("a&b", "<x> é☺ \"q\" 's'"), ResourceTag("empty", "")])
        #expect(root.string("data") == "<raw> & stuff")
        #expect(root.string("nextToken") == "")
    }

    @Test("malformed documents are errors, not crashes")
    func malformed() {
        for bad in ["<a><b></a>", "<a>", "", "<a>&bogus;</a>", "<a x=1></a>"] {
            #expect(throws: XMLParseError.self, "\(bad)") { try AWSXMLParser.parse(Array(bad.utf8)) }
        }
    }

    @Test("error bodies of the Query and JSON protocols become AWS codes and messages")
    func errorDecoding() {
        let ec2 = HTTPResponse(status: 400, headers: [], body: Array("<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>The image id '[ami-1]' does not exist</Message></Error></Errors><RequestID>abc</RequestID></Response>".utf8))
        let e1 = AWSClient.decodeError(ec2, service: "ec2", operation: "RunInstances")
        #expect(e1.code == "InvalidAMIID.NotFound")
        #expect(e1.requestId == "abc")
        #expect(e1.description == "AWS ec2 RunInstances failed: InvalidAMIID.NotFound: The image id '[ami-1]' does not exist (HTTP 400, request id abc)")
        let iam = HTTPResponse(status: 404, headers: [], body: Array("<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>Role x not found</Message></Error><RequestId>r2</RequestId></ErrorResponse>".utf8))
        #expect(AWSClient.decodeError(iam, service: "iam", operation: "GetRole").isNotFound)
        let json = HTTPResponse(status: 400, headers: [("x-amzn-errortype", "ThrottlingException:http://internal")], body: Array(#"{"__type":"com.amazon#ThrottlingException","message":"Rate exceeded"}"#.utf8))
        let e3 = AWSClient.decodeError(json, service: "ssm", operation: "SendCommand")
        #expect(e3.code == "ThrottlingException")
        #expect(e3.message == "Rate exceeded")
        #expect(e3.isRetryable)
        let html = HTTPResponse(status: 502, headers: [], body: Array("<html><body>Bad gateway</body>".utf8))
        let e4 = AWSClient.decodeError(html, service: "ec2", operation: "DescribeInstances")
        #expect(e4.code == "HTTP502")
        #expect(e4.isRetryable)
    }
}

@Suite("Ownership, keys, user data and backoff")
struct OwnershipUnitTests {
    @Test("namespaces derived from caller ARNs")
    func namespaceFromArn() {
        #expect(Ownership.namespace(fromArn: "arn:aws:iam::123456789012:user/Alice.Smith") == "alice-smith")
        #expect(Ownership.namespace(fromArn: "arn:aws:iam::123456789012:user/division/team/bob") == "division-team-bob")
        #expect(Ownership.namespace(fromArn: "arn:aws:sts::123456789012:assumed-role/CI_Runner/session@x") == "ci-runner-session-x")
        #expect(Ownership.namespace(fromArn: "arn:aws:iam::123456789012:root") == "root")
        #expect(Ownership.namespace(fromArn: "arn:aws:sts::1:assumed-role/" + String(repeating: "x", count: 80)).count <= 32)
        #expect(throws: AutomationAWSError.self) { try Ownership(namespace: "Has Spaces") }
        #expect(throws: AutomationAWSError.self) { try Ownership(namespace: "-lead") }
    }

    @Test("tags and names carry tool, namespace, run and expiry; the hg- prefix is kept")
    func tagsAndNames() throws {
        let o = try Ownership(namespace: "alice")
        let tags = o.tags(name: "n", runId: "r1", expires: Date(timeIntervalSince1970: 0))
        #expect(o.owns(tags))
        #expect(tags.contains(ResourceTag(Ownership.expiresKey, "1970-01-01T00:00:00Z")))
        #expect(!o.owns([ResourceTag(Ownership.namespaceKey, "alice")]), "the tool tag is required too")
        #expect(o.belongsToOther([ResourceTag(Ownership.namespaceKey, "bob")]))
        #expect(!o.belongsToOther([]))
        #expect(o.securityGroupName == "hg-alice-linux-dev-1")
        #expect(o.instanceProfileName == "hg-alice-ephemeral-ec2-1")
        #expect(try Ownership(namespace: "alice", prefix: "x-").roleName == "x-alice-ephemeral-ec2-role-1")
    }

    @Test("ed25519 keys in OpenSSH format are read back by ssh-keygen with the same fingerprint")
    func keysReadableBySSHKeygen() throws {
        let keygen = ["/usr/bin/ssh-keygen", "/bin/ssh-keygen"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = AWSStateStore(stateDirectory: dir)
        let key = try store.clientKey(namespace: "alice")
        #expect(try store.clientKey(namespace: "alice").publicKey == key.publicKey, "the key is generated once and then reused")
        let path = store.clientKeyPath(namespace: "alice").path
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
        guard let keygen else {
            Issue.record("ssh-keygen (openssh-client) is needed to cross-check the key format")
            return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: keygen)
        p.arguments = ["-l", "-f", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains(key.fingerprint), "ssh-keygen printed \(text)")
    }

    @Test("user data embeds the deploy/aws templates, parses as sh, and fits 16 keys in 16 KiB")
    func userData() throws {
        let boothook = try String(contentsOf: Fixtures.deployDirectory.appendingPathComponent("user-data-boothook.sh"), encoding: .utf8)
        let cloudConfig = try String(contentsOf: Fixtures.deployDirectory.appendingPathComponent("user-data-cloud-config.yaml"), encoding: .utf8)
        #expect(UserData.boothookTemplate == boothook)
        #expect(UserData.cloudConfig == cloudConfig)
        let keys = try (0..<UserData.maxHostKeys).map { _ in try Ed25519KeyPair.generate() }
        let rendered = try UserData.render(hostKeys: keys, expiresAt: Date(timeIntervalSince1970: 2_000_000_000))
        #expect(rendered.utf8.count <= 16 * 1024)
        #expect(rendered.contains("Content-Type: text/cloud-boothook"))
        let script = UserData.boothook(hostKeys: keys, expiresAt: Date(timeIntervalSince1970: 2_000_000_000))
        #expect(script.contains("EXPIRES_AT=2000000000"))
        for (i, key) in keys.enumerated() { #expect(script.contains("\(i)) KEY='") && script.contains(key.openSSHPublicKey())) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("boothook-\(UUID().uuidString).sh")
        defer { try? FileManager.default.removeItem(at: file) }
        try script.write(to: file, atomically: true, encoding: .utf8)
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-n", file.path]
        try sh.run()
        sh.waitUntilExit()
        #expect(sh.terminationStatus == 0, "sh -n accepts the rendered boothook")
        #expect(throws: AutomationAWSError.self) { try UserData.render(hostKeys: keys + [keys[0]], expiresAt: Date()) }
    }

    @Test("backoff is exponential with full jitter and capped")
    func backoff() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        for attempt in 1...10 {
            let d = policy.delay(afterAttempt: attempt)
            #expect(d >= .zero && d <= min(.milliseconds(100 * (1 << attempt)), .seconds(1)))
        }
    }

    @Test("form bodies are encoded like botocore (space as +, RFC 3986 otherwise)")
    func formEncoding() {
        #expect(URIEncoding.formEncode([("A b", "c/d~e*f+g=h&ü")]) == "A+b=c%2Fd~e%2Af%2Bg%3Dh%26%C3%BC")
    }
}
