@testable import AWS
import Foundation
import Testing
import TestSupport

/// TLS verification and proxy variables, through the real libcurl transport.
@Suite("HTTPS and proxies", .requires(Fixtures.moto))
struct TransportTests {
    /// A self-signed certificate for 127.0.0.1 made with the openssl command.
    static func certificate(in dir: URL) throws -> (cert: String, key: String) {
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw FixtureError(description: "openssl req failed; install the openssl package") }
        return (cert, key)
    }

    @Test("an untrusted certificate is refused; trusting it through the CA bundle works")
    func tlsVerification() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (cert, key) = try Self.certificate(in: dir)
        let script = Fixtures.repoRoot.appendingPathComponent("Tests/AWSTests/Fixtures/tls_server.py").path
        let server = try await ServerProcess.start(script: script, arguments: [cert, key])
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/"
        let error = await #expect(throws: HTTPError.self) { try await HTTPClient().send(HTTPRequest(method: "GET", url: url)) }
        #expect(error?.code == .tls)
        #expect(error?.description.contains("CA store") == true)
        let trusted = HTTPClient(configuration: HTTPClientConfiguration(caBundle: cert))
        let response = try await trusted.send(HTTPRequest(method: "POST", url: url, body: Array("x=1".utf8)))
        #expect(response.status == 200)
        #expect(response.text == "ok")
        // AWS_CA_BUNDLE reaches the client built from settings.
        let settings = try AWSSettings.resolve(options: .init(), environment: AWSEnvironment(variables: ["AWS_CA_BUNDLE": cert], homeDirectory: dir.path))
        #expect(settings.makeClient().http.configuration.caBundle == cert)
    }

    @Test("http_proxy from the environment is honoured (through the CLI binary)")
    func proxyFromEnvironment() async throws {
        let home = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        try await withMoto { moto in
            let proxy = try await ServerProcess.start(script: "fault-proxy.py", arguments: [moto.endpoint, ""])
            defer { proxy.stop() }
            // The endpoint's host does not resolve: only a proxy can deliver the request.
            let env = CLI.environment(home: home, ["AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s",
                                                   "http_proxy": proxy.endpoint, "AWS_ENDPOINT_URL": "http://aws-endpoint.invalid:4566"])
            let r = try CLI.run(["aws", "whoami", "--json"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("123456789012"))
            let count = try await HTTPClient().send(HTTPRequest(method: "GET", url: proxy.endpoint + "/__count")).text
            #expect(count == "1", "the one GetCallerIdentity call went through the proxy")
        }
    }
}
