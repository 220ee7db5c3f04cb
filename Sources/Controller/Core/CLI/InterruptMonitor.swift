@preconcurrency import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT into callbacks so a command can stop remote work cleanly
/// instead of dying with it still running.
final class InterruptMonitor: @unchecked Sendable {
    private let state = Mutex<(fired: Bool, handlers: [@Sendable () -> Void])>((false, []))
    private let source: DispatchSourceSignal

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in
            let (again, handlers) = state.withLock { s in
                defer { s.fired = true }
                return (s.fired, s.handlers)
            }
            // A second Ctrl-C means "now".
            if again { exit(ExitCodes.interrupted) }
            FileHandle.standardError.write(Data("automation: interrupted, stopping remote commands (Ctrl-C again to quit now)\n".utf8))
            handlers.forEach { $0() }
        }
        source.resume()
    }

    var fired: Bool { state.withLock { $0.fired } }

    func onInterrupt(_ handler: @escaping @Sendable () -> Void) {
        let fired = state.withLock { s in
            s.handlers.append(handler)
            return s.fired
        }
        if fired { handler() }
    }

    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
