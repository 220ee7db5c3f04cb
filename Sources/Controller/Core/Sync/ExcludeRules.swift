import Glibc
import SyncCore

/// `--exclude` patterns, shell globs: a pattern with a slash matches the whole
/// relative path, one without matches any single name; an excluded directory
/// takes everything below it.
public struct ExcludeRules: Sendable {
    public let patterns: [String]

    public init(_ patterns: [String]) { self.patterns = patterns }

    public func excludes(_ path: SyncPath) -> Bool {
        for pattern in patterns {
            let anchored = pattern.contains("/")
            let subject = anchored ? path.bytes : Array(path.name)
            var z = subject
            z.append(0)
            let matched = z.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { fnmatch(pattern, $0.baseAddress!, anchored ? FNM_PATHNAME : 0) == 0 }
            }
            if matched { return true }
        }
        return false
    }
}
