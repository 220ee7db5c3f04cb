/// A failure to parse an AWS XML response.
public struct XMLParseError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let offset: Int
    public var description: String { "malformed XML at byte \(offset): \(message)" }
}

/// A small non-validating XML parser for AWS responses: elements, attributes, text, CDATA,
/// comments, processing instructions and the predefined and numeric entities. No DTDs.
///
/// Written here instead of using FoundationXML so the AWS module does not link libxml2.
public enum AWSXMLParser {
    /// Parses `bytes` and returns the root element.
    public static func parse(_ bytes: [UInt8]) throws -> XMLNode {
        var scanner = Scanner(bytes: bytes)
        var stack: [XMLNode] = []
        var root: XMLNode?
        while !scanner.atEnd {
            if scanner.peek("<") {
                if scanner.consume("<?") {
                    try scanner.skip(past: "?>")
                } else if scanner.consume("<!--") {
                    try scanner.skip(past: "-->")
                } else if scanner.consume("<![CDATA[") {
                    let text = try scanner.take(until: "]]>")
                    if !stack.isEmpty { stack[stack.count - 1].text += text }
                } else if scanner.consume("<!") {
                    try scanner.skip(past: ">")
                } else if scanner.consume("</") {
                    let name = localName(try scanner.take(until: ">").trimmingCharacters())
                    guard let node = stack.popLast(), node.name == name else {
                        throw XMLParseError(message: "unexpected closing tag </\(name)>", offset: scanner.index)
                    }
                    if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
                } else {
                    scanner.index += 1
                    let (node, selfClosing) = try parseStartTag(&scanner)
                    if selfClosing {
                        if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
                    } else {
                        stack.append(node)
                    }
                }
            } else {
                let raw = scanner.takeText()
                if !stack.isEmpty { stack[stack.count - 1].text += try decodeEntities(raw, offset: scanner.index) }
            }
        }
        guard stack.isEmpty, let root else {
            throw XMLParseError(message: stack.isEmpty ? "no root element" : "unclosed element <\(stack.last!.name)>", offset: scanner.index)
        }
        return root
    }

    private static func parseStartTag(_ scanner: inout Scanner) throws -> (XMLNode, Bool) {
        let name = scanner.takeName()
        guard !name.isEmpty else { throw XMLParseError(message: "missing element name", offset: scanner.index) }
        var attributes: [String: String] = [:]
        while true {
            scanner.skipSpace()
            if scanner.consume("/>") { return (XMLNode(name: localName(name), attributes: attributes), true) }
            if scanner.consume(">") { return (XMLNode(name: localName(name), attributes: attributes), false) }
            let attribute = scanner.takeName()
            scanner.skipSpace()
            guard !attribute.isEmpty, scanner.consume("=") else {
                throw XMLParseError(message: "malformed attribute in <\(name)>", offset: scanner.index)
            }
            scanner.skipSpace()
            let quote = scanner.consume("\"") ? "\"" : (scanner.consume("'") ? "'" : "")
            guard !quote.isEmpty else { throw XMLParseError(message: "unquoted attribute value", offset: scanner.index) }
            attributes[localName(attribute)] = try decodeEntities(try scanner.take(until: quote), offset: scanner.index)
        }
    }

    private static func localName(_ name: String) -> String {
        guard let colon = name.lastIndex(of: ":") else { return name }
        return String(name[name.index(after: colon)...])
    }

    static func decodeEntities(_ text: String, offset: Int) throws -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else {
                throw XMLParseError(message: "unterminated entity", offset: offset)
            }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let scalar: UInt32? = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst(), radix: 10) : nil
                guard let scalar, let u = Unicode.Scalar(scalar) else {
                    throw XMLParseError(message: "unknown entity &\(entity);", offset: offset)
                }
                out.unicodeScalars.append(u)
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}

/// Byte cursor over the document.
private struct Scanner {
    let bytes: [UInt8]
    var index = 0

    var atEnd: Bool { index >= bytes.count }

    func peek(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard index + n <= bytes.count else { return false }
        return s.withUTF8Buffer { buffer in
            (0..<n).allSatisfy { bytes[index + $0] == buffer[$0] }
        }
    }

    mutating func consume(_ s: StaticString) -> Bool {
        guard peek(s) else { return false }
        index += s.utf8CodeUnitCount
        return true
    }

    mutating func consume(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard index + u.count <= bytes.count, Array(bytes[index..<index + u.count]) == u else { return false }
        index += u.count
        return true
    }

    mutating func take(until terminator: String) throws -> String {
        let t = Array(terminator.utf8)
        var i = index
        while i + t.count <= bytes.count {
            if bytes[i] == t[0] && Array(bytes[i..<i + t.count]) == t {
                let s = String(decoding: bytes[index..<i], as: UTF8.self)
                index = i + t.count
                return s
            }
            i += 1
        }
        throw XMLParseError(message: "expected \(terminator)", offset: index)
    }

    mutating func skip(past terminator: String) throws { _ = try take(until: terminator) }

    mutating func takeText() -> String {
        let start = index
        while index < bytes.count && bytes[index] != UInt8(ascii: "<") { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func takeName() -> String {
        let start = index
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d || b == UInt8(ascii: ">") || b == UInt8(ascii: "/") || b == UInt8(ascii: "=") { break }
            index += 1
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
    }
}

extension String {
    func trimmingCharacters() -> String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
