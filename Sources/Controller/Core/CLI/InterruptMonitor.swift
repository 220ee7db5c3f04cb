@preconcurrency import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT into callbacks so a command can stop remote work cleanly
/// instead of dying with it still running.
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
    }

    private let state = Mutex(State())
    private let source: DispatchSourceSignal
    private let exitOnSecond: Bool

    init(exitOnSecond: Bool = true, message: String = "automation: interrupted, stopping remote commands (Ctrl-C again to quit now)") {
        self.exitOnSecond = exitOnSecond
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in
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
        source.resume()
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

    /// Returns once Ctrl-C was pressed.
    func wait() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let fired = state.withLock { s in
                if s.count == 0 { s.waiters.append(waiter) }
                return s.count > 0
            }
            if fired { waiter.resume() }
        }
    }

    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
        let waiters = state.withLock { s in
            defer { s.waiters = [] }
            return s.waiters
        }
        // Nobody waits forever on an interrupt that can no longer come.
        waiters.forEach { $0.resume() }
    }
}
