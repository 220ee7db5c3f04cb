/// A command line written by the user (`--test-command 'CMD {test}'`), split
/// into words once, like a POSIX shell would split it but without any
/// expansion, so the test name is substituted into an argv and never pasted
/// into a shell string.
public struct CommandTemplate: Sendable, Equatable {
    /// The placeholder replaced by the test name.
    public static let placeholder = "{test}"

    /// The words, placeholders still in place.
    public let words: [String]

    /// An error in the template's quoting.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Splits `text` into words: whitespace separates, single quotes keep
    /// everything literally, double quotes keep everything but `\"` and `\\`,
    /// a backslash outside quotes escapes the next character.
    public init(_ text: String) throws {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = Array(text).makeIterator()
        while let c = iterator.next() {
            switch c {
            case " ", "\t", "\n":
                if inWord { words.append(current); current = ""; inWord = false }
            case "'":
                inWord = true
                var closed = false
                while let d = iterator.next() {
                    if d == "'" { closed = true; break }
                    current.append(d)
                }
                if !closed { throw ParseError(description: "unterminated single quote in: \(text)") }
            case "\"":
                inWord = true
                var closed = false
                while let d = iterator.next() {
                    if d == "\"" { closed = true; break }
                    if d == "\\" {
                        guard let e = iterator.next() else { break }
                        if e != "\"" && e != "\\" { current.append("\\") }
                        current.append(e)
                    } else {
                        current.append(d)
                    }
                }
                if !closed { throw ParseError(description: "unterminated double quote in: \(text)") }
            case "\\":
                inWord = true
                if let d = iterator.next() { current.append(d) }
            default:
                inWord = true
                current.append(c)
            }
        }
        if inWord { words.append(current) }
        guard !words.isEmpty else { throw ParseError(description: "empty command") }
        self.words = words
    }

    /// True when some word holds `{test}`.
    public var hasPlaceholder: Bool { words.contains { $0.contains(Self.placeholder) } }

    /// The argv for one test: `{test}` replaced in every word, or the name
    /// appended as a last argument when the template has no placeholder.
    public func argv(test: String) -> [String] {
        guard hasPlaceholder else { return words + [test] }
        return words.map { $0.replacingOccurrences(of: Self.placeholder, with: test) }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
