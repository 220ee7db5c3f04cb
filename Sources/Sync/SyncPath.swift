/// A path relative to a sync root, as raw bytes: names need not be UTF-8 and
/// may contain newlines. The rules here are the confinement rules both sides
/// apply: no absolute names, no empty, `.` or `..` components, no NUL.
public struct SyncPath: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Checks the rules; nil when `bytes` is not a safe relative path.
    public init?(_ bytes: [UInt8]) {
        guard Self.isValid(bytes) else { return nil }
        self.bytes = bytes
    }

    public init?(_ string: String) { self.init(Array(string.utf8)) }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Why `bytes` is refused, or nil when it is a valid relative path.
    public static func problem(_ bytes: [UInt8]) -> String? {
        if bytes.isEmpty { return "empty path" }
        if bytes.count > 4095 { return "path longer than 4095 bytes" }
        if bytes.first == UInt8(ascii: "/") { return "absolute path" }
        if bytes.contains(0) { return "path contains a NUL byte" }
        for component in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if component.isEmpty { return "empty path component" }
            if component.count > 255 { return "path component longer than 255 bytes" }
            if component.elementsEqual([UInt8(ascii: ".")]) || component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                return "'.' or '..' component"
            }
        }
        return nil
    }

    public static func isValid(_ bytes: [UInt8]) -> Bool { problem(bytes) == nil }

    /// The path's components.
    public var components: [ArraySlice<UInt8>] { bytes.split(separator: UInt8(ascii: "/")) }

    /// The parent directory, nil for a top-level name.
    public var parent: SyncPath? {
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return SyncPath(unchecked: Array(bytes[..<slash]))
    }

    /// The last component.
    public var name: ArraySlice<UInt8> {
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return bytes[...] }
        return bytes[(slash + 1)...]
    }

    public var depth: Int { bytes.reduce(1) { $1 == UInt8(ascii: "/") ? $0 + 1 : $0 } }

    public func appending(_ name: [UInt8]) -> SyncPath { SyncPath(unchecked: bytes + [UInt8(ascii: "/")] + name) }

    /// Byte order, so that both sides sort the same way whatever the locale.
    public static func < (a: SyncPath, b: SyncPath) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// For messages: the path with bytes that are not printable UTF-8 escaped.
    public var description: String { Self.printable(bytes) }

    public static func printable(_ bytes: [UInt8]) -> String {
        if let s = String(validating: bytes, as: UTF8.self), !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            return s
        }
        var out = ""
        for b in bytes {
            if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let digits = Array("0123456789abcdef")
                out += "\\x\(digits[Int(b >> 4)])\(digits[Int(b & 0xf)])"
            }
        }
        return out
    }
}
