import Foundation
import Glibc

/// A transport to an agent listening on a loopback port of this machine
/// (`automation-agent serve`); used by tests and local port forwards.
public enum TCPTransport {
    public static func connectSocket(host: String = "127.0.0.1", port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXFailure("socket", errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw UsageError("not an IPv4 address: \(host)")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw POSIXFailure("connect \(host):\(port)", code)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    /// A connected transport; reading and writing use separate descriptors of one socket.
    public static func make(host: String = "127.0.0.1", port: UInt16) throws -> PipeTransport {
        let fd = try connectSocket(host: host, port: port)
        let writeFD = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard writeFD >= 0 else {
            close(fd)
            throw POSIXFailure("dup", errno)
        }
        return PipeTransport(readFD: fd, writeFD: writeFD, shutdownOnClose: true)
    }
}
