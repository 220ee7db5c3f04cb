import Descriptors
import Foundation
import Glibc

/// A transport to an agent listening on a loopback port of this machine
/// (`automation-agent serve`); used by tests and local port forwards.
public enum TCPTransport {
    /// A connected socket (close-on-exec from birth); the caller owns the number.
    public static func connectSocket(host: String = "127.0.0.1", port: UInt16) throws -> Int32 {
        try connect(host: host, port: port).release()
    }

    private static func connect(host: String, port: UInt16) throws -> FileDescriptor {
        let socket = try FileDescriptor.socket(AF_INET, Int32(SOCK_STREAM.rawValue))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            throw UsageError("not an IPv4 address: \(host)")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket.rawValue, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            throw Errno("connect \(host):\(port)", errno)
        }
        var one: Int32 = 1
        setsockopt(socket.rawValue, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return socket
    }

    /// A connected transport; reading and writing use separate descriptors of one socket.
    public static func make(host: String = "127.0.0.1", port: UInt16) throws -> PipeTransport {
        let socket = try connect(host: host, port: port)
        let writer = try socket.duplicate()
        return PipeTransport(read: socket, write: writer, shutdownOnClose: true)
    }
}
