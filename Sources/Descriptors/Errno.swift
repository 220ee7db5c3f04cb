import Glibc

/// A failed system call: which, and errno. The one error type of the
/// system layer (the controller's transports throw it too).
public struct Errno: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var code: Int32

    public init(_ operation: String, _ code: Int32) {
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }

    /// The one EINTR retry: runs `body` again while it fails with EINTR.
    @inline(__always)
    public static func retrying<T: SignedInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }
}
