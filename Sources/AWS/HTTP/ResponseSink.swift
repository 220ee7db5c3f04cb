import CCurl
import Foundation

/// Collects one transfer's header lines and body; shared with libcurl's C callbacks.
final class ResponseSink: @unchecked Sendable {
    var headerLines: [String] = []
    var body: [UInt8] = []
    var overflow = false
    let maxBodySize: Int
    private let lock = NSLock()
    private var cancelled = false

    init(maxBodySize: Int) { self.maxBodySize = maxBodySize }

    func cancel() { lock.withLock { cancelled = true } }
    var isCancelled: Bool { lock.withLock { cancelled } }

    /// Header name/value pairs of the final response (after any 1xx or proxy CONNECT response).
    var headers: [(String, String)] {
        var result: [(String, String)] = []
        for line in headerLines {
            if line.hasPrefix("HTTP/") { result.removeAll(); continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            result.append((name, value))
        }
        return result
    }

    static let writeBody: ccurl_data_callback = { data, size, count, context in
        let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        if sink.body.count + length > sink.maxBodySize {
            sink.overflow = true
            return 0
        }
        if let data { sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length)) }
        return length
    }

    static let writeHeader: ccurl_data_callback = { data, size, count, context in
        let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        if let data {
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
            sink.headerLines.append(line.trimmingCharacters(in: .newlines))
        }
        return length
    }

    /// Returning non-zero aborts the transfer: this is how task cancellation reaches libcurl.
    static let progress: ccurl_xferinfo_callback = { context, _, _, _, _ in
        let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
        return sink.isCancelled ? 1 : 0
    }
}
