/// Percent-encoding as SigV4 and the AWS Query protocol require (RFC 3986, uppercase hex).
public enum URIEncoding {
    /// Encodes every byte except unreserved characters (`A-Z a-z 0-9 - _ . ~`) and those in `extraSafe`.
    public static func encode(_ string: String, extraSafe: String = "", spaceAsPlus: Bool = false) -> String {
        let safe = Set(extraSafe.utf8)
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            if isUnreserved(byte) || safe.contains(byte) {
                out.append(byte)
            } else if spaceAsPlus && byte == 0x20 {
                out.append(UInt8(ascii: "+"))
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes `(name, value)` pairs as `application/x-www-form-urlencoded` byte for byte as
    /// botocore does (Python's `urlencode`: unreserved characters kept, space as `+`).
    public static func formEncode(_ pairs: [(String, String)]) -> String {
        pairs.map { encode($0.0, spaceAsPlus: true) + "=" + encode($0.1, spaceAsPlus: true) }.joined(separator: "&")
    }

    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39)
            || b == 0x2d || b == 0x5f || b == 0x2e || b == 0x7e
    }

    /// Removes `.` and `..` segments and empty segments exactly as botocore's `remove_dot_segments` does.
    static func removeDotSegments(_ path: String) -> String {
        if path.isEmpty { return "/" }
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) where !segment.isEmpty && segment != "." {
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
            } else {
                output.append(segment)
            }
        }
        let first = path.hasPrefix("/") ? "/" : ""
        let last = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return first + output.joined(separator: "/") + last
    }
}
