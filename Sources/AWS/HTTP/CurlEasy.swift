import CCurl

/// Owns one libcurl easy handle; frees it on deinit.
final class CurlEasy: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    /// Receives libcurl's human-readable error for the last transfer.
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    private static let globalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    init() throws {
        _ = Self.globalInit
        guard let h = curl_easy_init() else {
            throw HTTPError(code: .other, curlCode: -1, url: "", message: "curl_easy_init returned NULL (out of memory?)")
        }
        handle = h
    }

    deinit { curl_easy_cleanup(handle) }

    /// Clears options for reuse while keeping the connection cache.
    func reset() {
        curl_easy_reset(handle)
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(ccurl_setopt_long(handle, option, value), option)
    }

    func set(_ option: CURLoption, _ value: String) throws {
        try check(value.withCString { ccurl_setopt_string(handle, option, $0) }, option)
    }

    func set(_ option: CURLoption, offset value: Int64) throws {
        try check(ccurl_setopt_off(handle, option, curl_off_t(value)), option)
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws {
        try check(ccurl_setopt_pointer(handle, option, pointer), option)
    }

    func set(_ option: CURLoption, list: CurlStringList) throws {
        try check(ccurl_setopt_slist(handle, option, list.head), option)
    }

    func set(_ option: CURLoption, callback: ccurl_data_callback) throws {
        try check(ccurl_setopt_data_callback(handle, option, callback), option)
    }

    func setProgress(_ callback: ccurl_xferinfo_callback) throws {
        try check(ccurl_setopt_xferinfo_callback(handle, callback), CURLOPT_XFERINFOFUNCTION)
    }

    /// Points CURLOPT_ERRORBUFFER at this handle's buffer; call after every reset.
    func installErrorBuffer() throws {
        errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        try errorBuffer.withUnsafeMutableBufferPointer { buffer in
            try check(ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(buffer.baseAddress)), CURLOPT_ERRORBUFFER)
        }
    }

    /// Runs the transfer on the calling thread (which must not be a cooperative pool thread).
    func perform() -> CURLcode { curl_easy_perform(handle) }

    var responseCode: Int {
        var code = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// libcurl's message for the last failure, or its generic text for `code`.
    func errorMessage(_ code: CURLcode) -> String {
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws {
        guard code == CURLE_OK else {
            throw HTTPError(code: .other, curlCode: Int(code.rawValue), url: "", message: "curl_easy_setopt(\(option.rawValue)): \(String(cString: curl_easy_strerror(code)))")
        }
    }
}

/// Owns a curl_slist; frees it on deinit.
final class CurlStringList: @unchecked Sendable {
    private(set) var head: UnsafeMutablePointer<curl_slist>?

    init(_ lines: [String]) {
        for line in lines { head = curl_slist_append(head, line) }
    }

    deinit { curl_slist_free_all(head) }
}
