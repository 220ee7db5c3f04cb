import Foundation
import Glibc
import Synchronization

/// The write end of the pipe SIGINT is turned into (one process-wide handler).
private nonisolated(unsafe) var interruptPipeWrite: Int32 = -1

/// Async-signal-safe: one byte down the pipe, whichever thread took the signal.
private func noteInterrupt(_ signal: Int32) {
    var byte: UInt8 = 1
    let saved = errno
    _ = Glibc.write(interruptPipeWrite, &byte, 1)
    errno = saved
}

/// Turns SIGINT into callbacks so a command can stop remote work cleanly
/// instead of dying with it still running.
///
/// A real handler (sigaction) rather than a Dispatch signal source: libdispatch
/// on Linux reads signals through a signalfd and blocks them only in the
/// thread that created the source, so a Ctrl-C delivered to another thread
/// with SIGINT ignored was silently lost.
///
/// Monitors nest (a run's inside the cloud provisioning around it): one
/// handler, pipe and watcher thread serve every live monitor, and each counts
/// the Ctrl-Cs it has seen. By default a second Ctrl-C exits 130 at once. A
/// command that must still tidy up (run-tests: reports, cloud resources) passes
/// `exitOnSecond: false` and gets `onRepeat` instead; a third Ctrl-C exits 130
/// regardless. Every such exit first runs the cloud teardowns (``ExitTeardowns``):
/// quitting early never leaves instances running.
final class InterruptMonitor: @unchecked Sendable {
    private struct State {
        var count = 0
        var handlers: [@Sendable () -> Void] = []
        var repeatHandlers: [@Sendable () -> Void] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let exitOnSecond: Bool
    private let message: String

    /// The live monitors, outermost first; the handler is installed while there is one.
    private static let live = Mutex<[InterruptMonitor]>([])
    private static let quitting = Mutex(false)
    /// Whether a Ctrl-C has come in this process; set and read under `live`'s lock.
    private static let interrupted = Atomic<Bool>(false)
    /// The pipe and its watcher thread, made once and kept for the process's life.
    private static let plumbing: Bool = {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        interruptPipeWrite = fds[1]
        let read = fds[0]
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let n = Glibc.read(read, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                InterruptMonitor.received()
            }
        }
        thread.name = "automation-interrupts"
        thread.start()
        return true
    }()

    init(exitOnSecond: Bool = true, message: String = "automation: interrupted, stopping remote commands (Ctrl-C again to quit now)") {
        self.exitOnSecond = exitOnSecond
        self.message = message
        _ = Self.plumbing
        Self.live.withLock { live in
            if live.isEmpty {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = noteInterrupt
                sigemptyset(&action.sa_mask)
                action.sa_flags = SA_RESTART
                sigaction(SIGINT, &action, nil)
            }
            live.append(self)
        }
    }

    private static func received() {
        let monitors = live.withLock { live in
            interrupted.store(true, ordering: .relaxed)
            return live
        }
        // A Ctrl-C after the last monitor stopped, once the user has interrupted: the
        // command is finishing its exit; end it with the interrupted status (a default
        // SIGINT here would make the exit status a signal, 2, instead of 130).
        if monitors.isEmpty { _exit(ExitCodes.interrupted) }
        // The innermost monitor speaks for the command; outer ones act silently.
        for (index, monitor) in monitors.enumerated().reversed() {
            monitor.fire(announce: index == monitors.count - 1)
        }
    }

    /// Exits with 130 after the cloud teardowns, once.
    private static func quitNow() {
        let first = quitting.withLock { quitting in
            defer { quitting = true }
            return !quitting
        }
        guard first else { return }
        ExitTeardowns.shared.runBlocking(timeout: .seconds(120))
        // _exit: no atexit handlers racing the SSH and agent threads for the exit status.
        _exit(ExitCodes.interrupted)
    }

    /// Handles one Ctrl-C; only an announcing monitor prints.
    private func fire(announce: Bool) {
        let (count, handlers, repeats, waiters) = state.withLock { s in
            s.count += 1
            defer { s.waiters = [] }
            return (s.count, s.handlers, s.repeatHandlers, s.waiters)
        }
        if count >= 3 || (count == 2 && exitOnSecond) {
            Self.quitNow()
            return
        }
        if count == 2 {
            if announce {
                FileHandle.standardError.write(Data("automation: interrupted again: not waiting for running tests (Ctrl-C once more to quit at once)\n".utf8))
            }
            repeats.forEach { $0() }
            return
        }
        if announce { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        handlers.forEach { $0() }
        waiters.forEach { $0.resume() }
    }

    /// True once Ctrl-C was pressed.
    var fired: Bool { state.withLock { $0.count > 0 } }
    /// True once Ctrl-C was pressed a second time.
    var repeated: Bool { state.withLock { $0.count > 1 } }

    /// Runs `handler` on the first Ctrl-C (at once if it already came).
    func onInterrupt(_ handler: @escaping @Sendable () -> Void) {
        let fired = state.withLock { s in
            s.handlers.append(handler)
            return s.count > 0
        }
        if fired { handler() }
    }

    /// Runs `handler` on the second Ctrl-C (only with `exitOnSecond: false`).
    func onRepeat(_ handler: @escaping @Sendable () -> Void) {
        let fired = state.withLock { s in
            s.repeatHandlers.append(handler)
            return s.count > 1
        }
        if fired { handler() }
    }

    /// Returns once Ctrl-C was pressed, or the monitor stopped (check `fired`).
    func wait() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s in
                if s.count == 0 && !s.stopped { s.waiters.append(waiter) }
                return s.count > 0 || s.stopped
            }
            if ready { waiter.resume() }
        }
    }

    /// Stops this monitor; the default SIGINT action returns with the last one.
    func stop() {
        Self.live.withLock { live in
            live.removeAll { $0 === self }
            // Once interrupted, the handler stays: see `received()`.
            if live.isEmpty && !Self.interrupted.load(ordering: .relaxed) { signal(SIGINT, SIG_DFL) }
        }
        let waiters = state.withLock { s in
            s.stopped = true
            defer { s.waiters = [] }
            return s.waiters
        }
        // Nobody waits forever on an interrupt that can no longer come.
        waiters.forEach { $0.resume() }
    }
}
