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
/// By default a second Ctrl-C exits 130 at once. A command that must still
/// tidy up (run-tests: reports, cloud resources) passes `exitOnSecond:
/// false` and gets `onRepeat` instead; a third Ctrl-C exits 130 regardless.
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
    private let readFD: Int32
    private let writeFD: Int32

    init(exitOnSecond: Bool = true, message: String = "automation: interrupted, stopping remote commands (Ctrl-C again to quit now)") {
        self.exitOnSecond = exitOnSecond
        self.message = message
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        } else {
            fds = [-1, -1]
        }
        readFD = fds[0]
        writeFD = fds[1]
        interruptPipeWrite = writeFD
        var action = sigaction()
        action.__sigaction_handler.sa_handler = noteInterrupt
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
        let thread = Thread { [self] in watch() }
        thread.name = "automation-interrupts"
        thread.start()
    }

    private func watch() {
        var byte: UInt8 = 0
        while true {
            let n = Glibc.read(readFD, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == 0 { break }
            fire()
        }
        Glibc.close(readFD)
    }

    private func fire() {
        let (count, handlers, repeats, waiters) = state.withLock { s in
            s.count += 1
            defer { s.waiters = [] }
            return (s.count, s.handlers, s.repeatHandlers, s.waiters)
        }
        // _exit: no atexit handlers racing the SSH and agent threads for the exit status.
        if count >= 3 || (count == 2 && exitOnSecond) { _exit(ExitCodes.interrupted) }
        if count == 2 {
            FileHandle.standardError.write(Data("automation: interrupted again: not waiting for running tests (Ctrl-C once more to quit at once)\n".utf8))
            repeats.forEach { $0() }
            return
        }
        FileHandle.standardError.write(Data((message + "\n").utf8))
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

    /// Restores the default SIGINT action and ends the watcher thread.
    func stop() {
        signal(SIGINT, SIG_DFL)
        let waiters = state.withLock { s in
            s.stopped = true
            defer { s.waiters = [] }
            return s.waiters
        }
        // Nobody waits forever on an interrupt that can no longer come.
        waiters.forEach { $0.resume() }
        var end: UInt8 = 0
        _ = Glibc.write(writeFD, &end, 1)
        Glibc.close(writeFD)
    }
}
