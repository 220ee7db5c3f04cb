import Foundation

/// Signs requests with AWS Signature Version 4 (header authorization).
///
/// Mirrors botocore's `SigV4Auth` for non-S3 services: the path is normalized and encoded a
/// second time, query parameters are sorted after encoding, header values are trimmed with
/// inner whitespace collapsed, and every header except a small ignore list is signed.
public struct SigV4Signer: Sendable {
    /// The signing service name, e.g. `ec2`.
    public let service: String
    /// The signing region, e.g. `us-west-2`.
    public let region: String

    /// Headers botocore never signs.
    static let unsignedHeaders: Set<String> = ["expect", "user-agent", "x-amzn-trace-id", "authorization", "transfer-encoding"]

    public init(service: String, region: String) {
        self.service = service
        self.region = region
    }

    /// The inputs of one signature.
    public struct Request: Sendable {
        public var method: String
        /// Host as sent in the Host header (with `:port` when not the scheme's default).
        public var host: String
        /// The path exactly as it appears in the URL (already percent-encoded).
        public var path: String
        /// Unencoded query parameters.
        public var query: [(String, String)]
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(method: String, host: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [], body: [UInt8] = []) {
            self.method = method
            self.host = host
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    /// Returns the headers to add: `X-Amz-Date`, `X-Amz-Security-Token` (if any) and `Authorization`.
    public func sign(_ request: Request, credentials: AWSCredentials, date: Date) -> [(String, String)] {
        let amzDate = Self.amzDate(date)
        var added: [(String, String)] = [("X-Amz-Date", amzDate)]
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        var headers = request.headers.filter { $0.0.lowercased() != "x-amz-date" && $0.0.lowercased() != "authorization" }
        headers += added
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { headers.append(("host", request.host)) }
        let canonical = canonicalRequest(request, headers: headers)
        let scope = "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(Digest.hex(Digest.sha256(canonical.text)))"
        var key = Digest.hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), String(amzDate.prefix(8)))
        for part in [region, service, "aws4_request"] { key = Digest.hmacSHA256(key: key, part) }
        let signature = Digest.hex(Digest.hmacSHA256(key: key, stringToSign))
        added.append(("Authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"))
        return added
    }

    /// The canonical request text and signed header list (exposed for tests and debugging).
    public func canonicalRequest(_ request: Request, headers: [(String, String)]) -> (text: String, signedHeaders: String) {
        var grouped: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if Self.unsignedHeaders.contains(lower) { continue }
            grouped[lower, default: []].append(value.split(whereSeparator: { $0.isWhitespace }).joined(separator: " "))
        }
        let names = grouped.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(grouped[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let encoded: [(String, String)] = request.query.map { (URIEncoding.encode($0.0), URIEncoding.encode($0.1)) }
        let sorted = encoded.sorted { (a: (String, String), b: (String, String)) -> Bool in a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
        let query = sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let path = URIEncoding.encode(URIEncoding.removeDotSegments(request.path), extraSafe: "/")
        let payloadHash = Digest.hex(Digest.sha256(request.body))
        let text = [request.method.uppercased(), path, query, canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        return (text, signedHeaders)
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}
