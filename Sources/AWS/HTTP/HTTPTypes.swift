/// One HTTP request for ``HTTPClient``.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Overrides the client's total timeout for this request.
    public var timeout: Duration?

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [], timeout: Duration? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased, in arrival order.
    public var headers: [(String, String)]
    public var body: [UInt8]

    /// The first header with this (case-insensitive) name.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0 == lower }?.1
    }

    /// The body decoded as UTF-8.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A transport failure: no HTTP response was received.
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case timeout, connect, resolve, tls, connectionLost, cancelled, tooLarge, other
    }
    public let code: Code
    /// libcurl's CURLcode.
    public let curlCode: Int
    public let url: String
    public let message: String

    public var description: String {
        switch code {
        case .timeout: "HTTP request to \(url) timed out: \(message)"
        case .connect: "could not connect to \(url): \(message); check the endpoint URL and any https_proxy setting"
        case .resolve: "could not resolve the host of \(url): \(message); check DNS, the endpoint URL and any proxy setting"
        case .tls: "TLS failure talking to \(url): \(message); check the system CA store (ca-certificates)"
        case .connectionLost: "connection to \(url) was lost: \(message)"
        case .cancelled: "HTTP request to \(url) was cancelled"
        case .tooLarge: "response from \(url) exceeded the size limit"
        case .other: "HTTP request to \(url) failed: \(message) (curl code \(curlCode))"
        }
    }

    /// Whether another attempt might succeed.
    public var isTransient: Bool {
        [.timeout, .connect, .connectionLost, .resolve].contains(code)
    }
}
