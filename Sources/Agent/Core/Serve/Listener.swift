import AgentProtocol
import CAgentSupport
import Glibc
import Synchronization

/// `serve` mode: a loopback TCP listener that admits sessions presenting the
/// token it printed, each served on a thread of its own.
enum Listener {
    struct Endpoint {
        var host: String
        var port: UInt16
        var isIPv6: Bool { host.contains(":") }

        init?(_ text: String) {
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            // Remote access goes through SSH; the agent itself never listens beyond loopback.
            guard host == "127.0.0.1" || host == "::1" || host == "localhost" else { return nil }
            self.host = host == "localhost" ? "127.0.0.1" : host
            self.port = port
        }

        init(host: String, port: UInt16) {
            self.host = host
            self.port = port
        }
    }

    struct Options {
        var endpoint = Endpoint(host: "127.0.0.1", port: 0)
        var idleTimeout: Double = 1800
        var detach = false
        /// Seconds a resumable session outlives its connection (`--grace`).
        var grace: Double = 60
        /// Unacknowledged output a session keeps in memory (`--replay-memory`).
        var replayMemory = ProtocolConstants.defaultWindow
        /// Where sessions spill the rest (`--spill-dir`); nil: `$HOME/.cache/automation/spill`.
        var spillDirectory: String?
        /// Bound on one session's spill file (`--spill-limit`).
        var spillLimit: Int64 = 1 << 30
        /// When the idle timeout fires, power the machine off (`PowerOff`) instead of just exiting.
        var powerOffWhenIdle = false
        /// Where a detached agent's stderr goes (`--log`); /dev/null when nil.
        var logDescriptor: Int32?
    }

    /// When a controller was last connected (or a connection last ended): the idle clock's start.
    private static let lastActivity = Atomic<UInt64>(0)
    /// Sessions waiting out their grace period with no connection: they keep their processes
    /// for a controller that may come back, but do not hold off the idle timeout, so that
    /// `--idle-timeout` counts from the last time a controller was heard, whatever `--grace` is.
    private static let waitingSessions = Atomic<Int>(0)
    /// The idle timeout in nanoseconds (0: never); `agent.configure` changes it.
    private static let idleTimeoutNs = Atomic<UInt64>(0)

    static func run(_ options: Options) -> Never {
        let (fd, port) = bind(options.endpoint)
        let token = randomHex(bytes: 32)
        if options.detach {
            let pid = fork()
            if pid < 0 { AgentMain.fail(71, "automation-agent: fork: \(Sys.errorString(errno))") }
            if pid > 0 {
                announce(port: port, token: token, pid: pid, idleTimeout: options.idleTimeout)
                _exit(0)
            }
            setsid()
            let null = open("/dev/null", O_RDWR)
            if null >= 0 {
                dup2(null, 0)
                dup2(null, 1)
                dup2(options.logDescriptor ?? null, 2)
                if null > 2 { close(null) }
            }
        } else {
            announce(port: port, token: token, pid: getpid(), idleTimeout: options.idleTimeout)
        }
        ProcessRegistry.shared.startReaper()
        lastActivity.store(Sys.now(), ordering: .relaxed)
        idleTimeoutNs.store(UInt64(options.idleTimeout * 1_000_000_000), ordering: .relaxed)
        let admission = Admission()
        var pauseUntil: UInt64 = 0
        while true {
            // After descriptor exhaustion, wait a little before accepting again:
            // sessions that end give their descriptors back.
            let paused = Sys.now() < pauseUntil
            var pfd = pollfd(fd: paused ? -1 : fd, events: Int16(POLLIN), revents: 0)
            _ = Glibc.poll(&pfd, 1, paused ? 50 : 1000)
            if pfd.revents & Int16(POLLIN) != 0 {
                let client = cagent_accept_cloexec(fd)
                if client >= 0 {
                    startSession(client, token: token, admission: admission, options: options)
                } else if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    admission.dropOnePending(listener: fd, accept: cagent_accept_cloexec)
                    pauseUntil = Sys.now() + 50_000_000
                }
            }
            let idleNs = idleTimeoutNs.load(ordering: .relaxed)
            // Active first: a session counted in neither (ended, or between its resume and the
            // handover) errs towards not idle.
            if idleNs > 0, admission.activeSessions - waitingSessions.load(ordering: .sequentiallyConsistent) <= 0 {
                let now = Sys.now(), last = lastActivity.load(ordering: .relaxed)
                if now > last && now - last > idleNs {
                    if options.powerOffWhenIdle { PowerOff.run(idleSeconds: Double(idleNs) / 1e9) }
                    // Sessions still in their grace period: their processes end with the agent.
                    ProcessRegistry.shared.killAll()
                    exit(0)
                }
            }
        }
    }

    /// Serves `fd` on a thread of its own, or closes it at once when the
    /// admission limits or the process's resources (descriptors, threads) say no.
    private static func startSession(_ fd: Int32, token: String, admission: Admission, options: Options) {
        guard let ticket = admission.admit() else {
            refuseBusy(fd)
            return
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var config = Session.Configuration(requiredToken: token)
        config.onAuthenticated = { ticket.authenticated() }
        let waiting = WaitingFlag()
        config.onConnection = { connected in
            lastActivity.store(Sys.now(), ordering: .relaxed)
            if connected {
                if waiting.value.exchange(false, ordering: .sequentiallyConsistent) { waitingSessions.subtract(1, ordering: .sequentiallyConsistent) }
            } else if !waiting.value.exchange(true, ordering: .sequentiallyConsistent) {
                waitingSessions.add(1, ordering: .sequentiallyConsistent)
            }
        }
        config.graceNs = UInt64(options.grace * 1_000_000_000)
        config.table = .shared
        config.replayMemory = options.replayMemory
        config.spillDirectory = options.spillDirectory ?? defaultSpillDirectory()
        config.spillLimit = options.spillLimit
        config.ownsConnection = true
        let powersOff = options.powerOffWhenIdle
        config.configure = { params in
            guard let seconds = params.idleTimeoutSeconds else { return nil }
            // Validation has bounded it to 0...31536000.
            if seconds == 0 && powersOff {
                return ProtocolError(.invalidField, "params.idleTimeoutSeconds: this agent powers its machine off when idle; 0 (never) would keep the machine forever")
            }
            idleTimeoutNs.store(UInt64(seconds) * 1_000_000_000, ordering: .relaxed)
            return nil
        }
        config.preHelloLimit = admission.limits.preHelloShare
        guard let created = Session(input: fd, output: fd, config: config) else {
            ticket.release()
            close(fd)
            return
        }
        // Handed to the session thread and used only there from now on.
        nonisolated(unsafe) let session = created
        let started = Threads.start {
            // The session closes its connection (which, after a resume, is another one).
            let end = session.run()
            if end == .shutdown {
                ProcessRegistry.shared.killAll()
                exit(0)
            }
            if waiting.value.exchange(false, ordering: .sequentiallyConsistent) {
                // It ended waiting (grace expired): no controller was heard at its end.
                waitingSessions.subtract(1, ordering: .sequentiallyConsistent)
            } else {
                lastActivity.store(Sys.now(), ordering: .relaxed)
            }
            ticket.release()
        }
        if !started {
            ticket.release()
            close(fd)
        }
    }

    /// The one line a connection refused for want of a slot gets before the
    /// close, so that its controller knows the agent is alive but busy (and
    /// tries again) rather than gone: never blocks the accept loop.
    private static let busyLine: [UInt8] = {
        let error = ProtocolError(.busy, "the agent has no slot for another connection now (too many connections waiting for their hello, or too many sessions); try again shortly")
        return (try? MessageCodec().encodeLine(AgentMessage.reply(Reply(id: nil, seq: 0, outcome: .failure(error))))) ?? []
    }()

    private static func refuseBusy(_ fd: Int32) {
        _ = busyLine.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))
        // Whatever the client sent already (its hello) is read away: closing a
        // socket with unread input sends a reset, which can discard the line.
        var scratch = [UInt8](repeating: 0, count: 4096)
        var reads = 0
        while reads < 16, recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT)) > 0 { reads += 1 }
        close(fd)
    }

    /// `$HOME/.cache/automation/spill` (created 0700 on first use), beside the agent's state files.
    private static func defaultSpillDirectory() -> String? {
        guard let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") else { return nil }
        let cache = home + "/.cache"
        mkdir(cache, 0o700)
        mkdir(cache + "/automation", 0o700)
        return cache + "/automation/spill"
    }

    /// The announcement (and the SSH host's state file); `idleTimeout` is the
    /// one the agent starts with (`agent.configure` may change it later).
    private static func announce(port: UInt16, token: String, pid: pid_t, idleTimeout: Double) {
        let line = "{\"port\":\(port),\"token\":\"\(token)\",\"pid\":\(pid),\"version\":\(ProtocolConstants.version),\"idleTimeout\":\(idleTimeout)}\n"
        _ = line.utf8CString.withUnsafeBytes { Sys.writeAll(1, UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
    }

    private static func bind(_ endpoint: Endpoint) -> (Int32, UInt16) {
        let family = endpoint.isIPv6 ? AF_INET6 : AF_INET
        let fd = cagent_socket_cloexec(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { AgentMain.fail(71, "automation-agent: socket: \(Sys.errorString(errno))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if endpoint.isIPv6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = endpoint.port.bigEndian
            inet_pton(AF_INET6, endpoint.host, &addr.sin6_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = endpoint.port.bigEndian
            inet_pton(AF_INET, endpoint.host, &addr.sin_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard rc == 0, listen(fd, 64) == 0 else {
            AgentMain.fail(71, "automation-agent: cannot listen on \(endpoint.host):\(endpoint.port): \(Sys.errorString(errno))")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port: UInt16 = withUnsafeBytes(of: storage) { raw in
            // sin_port and sin6_port sit at the same offset.
            UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
        }
        return (fd, port)
    }
}

/// Whether one session is waiting out its grace period (set and read on its own thread and the listener's).
private final class WaitingFlag: Sendable {
    let value = Atomic<Bool>(false)
}
