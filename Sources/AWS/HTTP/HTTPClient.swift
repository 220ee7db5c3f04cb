import CCurl
import Foundation

/// Timeouts and limits of an ``HTTPClient``.
public struct HTTPClientConfiguration: Sendable {
    /// Time allowed to establish the TCP (and TLS) connection.
    public var connectTimeout: Duration
    /// Time allowed for a whole request, unless the request sets its own.
    public var requestTimeout: Duration
    /// Responses larger than this fail with ``HTTPError/Code/tooLarge``.
    public var maxResponseSize: Int
    /// A PEM file of trusted CAs instead of the system store (`AWS_CA_BUNDLE`, `ca_bundle`).
    public var caBundle: String?

    public init(connectTimeout: Duration = .seconds(10), requestTimeout: Duration = .seconds(60), maxResponseSize: Int = 64 << 20, caBundle: String? = nil) {
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.maxResponseSize = maxResponseSize
        self.caBundle = caBundle
    }
}

/// HTTPS over libcurl. Each transfer runs on its own thread so the cooperative pool never blocks.
///
/// TLS peers are verified against the system CA store (libcurl's built-in default path).
/// Proxies come from the usual environment variables, which libcurl reads itself:
/// `https_proxy`/`HTTPS_PROXY`, `http_proxy`, `all_proxy`/`ALL_PROXY` and `no_proxy`/`NO_PROXY`.
public final class HTTPClient: Sendable {
    public let configuration: HTTPClientConfiguration
    private let pool = CurlHandlePool()

    public init(configuration: HTTPClientConfiguration = .init()) {
        self.configuration = configuration
    }

    /// Sends `request` and returns the response of any status; throws ``HTTPError`` only when none arrived.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let sink = ResponseSink(maxBodySize: configuration.maxResponseSize)
        let configuration = configuration
        let pool = pool
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, Error>) in
                let thread = Thread {
                    continuation.resume(with: Result { try Self.perform(request, sink: sink, configuration: configuration, pool: pool) })
                }
                thread.name = "automation.http"
                thread.start()
            }
        } onCancel: {
            sink.cancel()
        }
    }

    private static func perform(_ request: HTTPRequest, sink: ResponseSink, configuration: HTTPClientConfiguration, pool: CurlHandlePool) throws -> HTTPResponse {
        if sink.isCancelled { throw HTTPError(code: .cancelled, curlCode: 42, url: request.url, message: "cancelled") }
        let easy = try pool.take()
        defer { pool.give(easy) }
        try easy.installErrorBuffer()
        try easy.set(CURLOPT_URL, request.url)
        try easy.set(CURLOPT_NOSIGNAL, 1)
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout.milliseconds))
        try easy.set(CURLOPT_TIMEOUT_MS, Int((request.timeout ?? configuration.requestTimeout).milliseconds))
        try easy.set(CURLOPT_SSL_VERIFYPEER, 1)
        try easy.set(CURLOPT_SSL_VERIFYHOST, 2)
        if let bundle = configuration.caBundle { try easy.set(CURLOPT_CAINFO, bundle) }
        switch request.method {
        case "GET": try easy.set(CURLOPT_HTTPGET, 1)
        case "HEAD": try easy.set(CURLOPT_NOBODY, 1)
        case "POST": try easy.set(CURLOPT_POST, 1)
        default: try easy.set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if request.method != "GET" && request.method != "HEAD" {
            try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(request.body.count))
            // COPYPOSTFIELDS copies the bytes, so the buffer only has to live for this call.
            var body = request.body.isEmpty ? [0] : request.body
            try body.withUnsafeMutableBytes { try easy.set(CURLOPT_COPYPOSTFIELDS, pointer: $0.baseAddress) }
        }
        // "Expect:" stops libcurl from waiting for 100-continue on larger bodies.
        let headers = CurlStringList(request.headers.map { "\($0.0): \($0.1)" } + ["Expect:"])
        try easy.set(CURLOPT_HTTPHEADER, list: headers)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        try easy.set(CURLOPT_WRITEFUNCTION, callback: ResponseSink.writeBody)
        try easy.set(CURLOPT_WRITEDATA, pointer: context)
        try easy.set(CURLOPT_HEADERFUNCTION, callback: ResponseSink.writeHeader)
        try easy.set(CURLOPT_HEADERDATA, pointer: context)
        try easy.setProgress(ResponseSink.progress)
        try easy.set(CURLOPT_XFERINFODATA, pointer: context)
        try easy.set(CURLOPT_NOPROGRESS, 0)
        let code = withExtendedLifetime(headers) { withExtendedLifetime(sink) { easy.perform() } }
        guard code == CURLE_OK else {
            throw HTTPError(code: sink.overflow ? .tooLarge : Self.classify(code), curlCode: Int(code.rawValue), url: request.url, message: easy.errorMessage(code))
        }
        return HTTPResponse(status: easy.responseCode, headers: sink.headers, body: sink.body)
    }

    static func classify(_ code: CURLcode) -> HTTPError.Code {
        switch code {
        case CURLE_OPERATION_TIMEDOUT: .timeout
        case CURLE_COULDNT_CONNECT: .connect
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .resolve
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM: .tls
        case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE: .connectionLost
        case CURLE_ABORTED_BY_CALLBACK: .cancelled
        default: .other
        }
    }
}

/// Idle easy handles kept for reuse so that keep-alive connections survive between requests.
final class CurlHandlePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [CurlEasy] = []

    func take() throws -> CurlEasy {
        if let easy = lock.withLock({ idle.popLast() }) { return easy }
        return try CurlEasy()
    }

    func give(_ easy: CurlEasy) {
        easy.reset()
        lock.withLock { if idle.count < 16 { idle.append(easy) } }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a tiny positive timeout never becomes 0 (which means "none").
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(1, seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}
