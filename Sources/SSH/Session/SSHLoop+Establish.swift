import CLibSSH2
import COpenSSL
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension SSHLoop {
    /// Connects the socket, runs the SSH handshake, verifies the host key and
    /// authenticates, each within its timeout. Runs on the I/O thread.
    func establish(_ endpoint: SSHEndpoint) throws -> SSHConnectionInfo {
        LibSSH2.initialize()
        let started = ContinuousClock.now
        socketFD = try connectSocket(endpoint)
        let connected = ContinuousClock.now
        guard let session = cssh2_session_init() else {
            throw SSHError(.handshakeFailed, "\(label): could not create an SSH session (out of memory?).")
        }
        self.session = session
        libssh2_session_set_blocking(session, 0)
        _ = libssh2_session_banner_set(session, "SSH-2.0-automation_libssh2_1.10")
        let hostKeyOrder = configuration.hostKeyPolicy.preferredAlgorithms(host: endpoint.host, port: endpoint.port)
        _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, hostKeyOrder.joined(separator: ","))
        // AES-CTR runs on AES-NI through OpenSSL; it is the fastest cipher libssh2 1.10 has.
        _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_CS, "aes128-ctr,aes256-ctr,aes192-ctr,aes256-cbc")
        _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_SC, "aes128-ctr,aes256-ctr,aes192-ctr,aes256-cbc")

        let handshakeDeadline = ContinuousClock.now + configuration.handshakeTimeout
        while true {
            let rc = libssh2_session_handshake(session, socketFD)
            if rc == 0 { break }
            guard rc == LIBSSH2_ERROR_EAGAIN else {
                throw SSHError(.handshakeFailed, "\(label): the SSH handshake failed: \(lastErrorMessage()). Is this an SSH server?", libssh2Code: rc)
            }
            if !waitSocket(until: handshakeDeadline) {
                throw SSHError(.timedOut, "\(label): the SSH handshake did not finish within \(SSHLoop.describe(configuration.handshakeTimeout)); the port accepts connections but no SSH server answered.")
            }
        }

        let handshaken = ContinuousClock.now
        var keyLength = 0
        var keyType: Int32 = 0
        guard let rawKey = libssh2_session_hostkey(session, &keyLength, &keyType) else {
            throw SSHError(.handshakeFailed, "\(label): the server sent no host key.")
        }
        let hostKey = SSHHostKey(blob: Array(UnsafeRawBufferPointer(start: rawKey, count: keyLength)))
        try configuration.hostKeyPolicy.verify(hostKey, host: endpoint.host, port: endpoint.port)

        let authStarted = ContinuousClock.now
        let authDeadline = authStarted + configuration.handshakeTimeout
        let authenticator = SSHAuthenticator(loop: self, session: session, user: endpoint.user, deadline: authDeadline)
        let credential = try authenticator.authenticate(configuration.authMethods)
        libssh2_keepalive_config(session, 1, UInt32(configuration.keepaliveInterval))
        let banner = libssh2_session_banner_get(session).map { String(cString: $0) } ?? ""
        let now = ContinuousClock.now
        logger.debug("ssh.connected", metadata: [
            "ssh.host": "\(label)", "ssh.hostkey": "\(hostKey.fingerprint)", "ssh.auth": "\(credential)",
            "ssh.time.connect": "\(connected - started)", "ssh.time.handshake": "\(handshaken - connected)",
            "ssh.time.auth": "\(now - authStarted)",
            "ssh.kex": "\(libssh2_session_methods(session, LIBSSH2_METHOD_KEX).map { String(cString: $0) } ?? "?")",
        ])
        return SSHConnectionInfo(hostKey: hostKey, authenticatedWith: credential, serverBanner: banner)
    }

    private func connectSocket(_ endpoint: SSHEndpoint) throws -> Int32 {
        let target = endpoint.connectAddress
        // Messages name the host as the user wrote it, and the real address when a map redirected it.
        let named = endpoint.via == nil ? "\(target.host) port \(target.port)" : "\(endpoint.host) (via \(target.host) port \(target.port))"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard rc == 0, let list else {
            throw SSHError(.connectFailed, "Cannot resolve \(target.host): \(String(cString: gai_strerror(rc))).")
        }
        defer { freeaddrinfo(list) }
        let deadline = ContinuousClock.now + configuration.connectTimeout
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = list
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 { lastError = String(cString: strerror(errno)); continue }
            if connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let remaining = ContinuousClock.now.duration(to: deadline)
                let millis = max(0, Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
                let ready = poll(&pfd, 1, millis)
                if ready == 0 {
                    Glibc.close(fd)
                    throw SSHError(.timedOut, "Cannot connect to \(named): no answer within \(SSHLoop.describe(configuration.connectTimeout)). Is the host up and the port reachable (firewall, security group)?")
                }
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                if ready > 0 && soError == 0 {
                    configureSocket(fd)
                    return fd
                }
                lastError = String(cString: strerror(soError != 0 ? soError : errno))
            } else {
                lastError = String(cString: strerror(errno))
            }
            Glibc.close(fd)
        }
        throw SSHError(.connectFailed, "Cannot connect to \(named): \(lastError).")
    }

    private func configureSocket(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
        // Unacknowledged data (keepalives included) older than this breaks the
        // connection, so a vanished peer is noticed even without a TCP reset.
        var userTimeout = UInt32(max(10, configuration.keepaliveInterval * 3) * 1000)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &userTimeout, socklen_t(MemoryLayout<UInt32>.size))
        var buffer: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// Process-wide libssh2 and OpenSSL initialisation. Call it first thing in
/// `main`, while the process has one thread: libssh2_init registers OpenSSL's
/// engines in global tables, which must not race with another thread already
/// hashing or signing (the AWS module, the agent hash).
public enum LibSSH2 {
    private static let once: Void = {
        // OpenSSL must not free its state at exit: an SSH I/O thread still
        // tearing down (a graceful disconnect encrypts a packet) would use it
        // after the cleanup. A suspected cause of the rare SIGSEGV inside
        // libcrypto at exit (issue 12); the process is ending anyway.
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
        _ = libssh2_init(0)
        // Registered after libssh2 (and OpenSSL) set up their own exit
        // handlers, so it runs before them: I/O threads stop touching the
        // session before OpenSSL frees its locks at exit.
        atexit { SSHLoop.stopAllForExit() }
    }()
    public static func initialize() { _ = once }
}
