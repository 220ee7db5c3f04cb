@preconcurrency import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT into callbacks so a command can stop remote work cleanly
/// instead of dying with it still running.
///
/// Monitors nest (a run's inside the cloud provisioning around it) and share
/// one signal source, since a process gets each signal once: the first Ctrl-C
/// fires every live monitor, the second exits with 130 after the cloud
/// teardowns (``ExitTeardowns``). SIGINT stays caught until the last monitor stops.
final class InterruptMonitor: @unchecked Sendable {
    private let state = Mutex<(fired: Bool, handlers: [@Sendable () -> Void])>((false, []))

    private struct Shared {
        var monitors: [ObjectIdentifier: InterruptMonitor] = [:]
        var source: DispatchSourceSignal?
        var interrupted = false
    }

    private static let shared = Mutex(Shared())
    private static let quitting = Mutex(false)

    init() {
        Self.shared.withLock { shared in
            shared.monitors[ObjectIdentifier(self)] = self
            guard shared.source == nil else { return }
            signal(SIGINT, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            source.setEventHandler { InterruptMonitor.received() }
            source.resume()
            shared.source = source
        }
    }

    private static func received() {
        let (again, monitors) = shared.withLock { shared in
            defer { shared.interrupted = true }
            return (shared.interrupted, Array(shared.monitors.values))
        }
        // A second Ctrl-C means "now": everything but tearing down cloud resources is skipped.
        if again {
            quitNow()
            return
        }
        FileHandle.standardError.write(Data("automation: interrupted, stopping remote commands (Ctrl-C again to quit now)\n".utf8))
        for monitor in monitors { monitor.fire() }
    }

    /// Exits with 130 after the cloud teardowns, once.
    private static func quitNow() {
        let first = quitting.withLock { quitting in
            defer { quitting = true }
            return !quitting
        }
        guard first else { return }
        ExitTeardowns.shared.runBlocking(timeout: .seconds(120))
        exit(ExitCodes.interrupted)
    }

    private func fire() {
        let handlers = state.withLock { s in
            defer { s.fired = true }
            return s.fired ? [] : s.handlers
        }
        handlers.forEach { $0() }
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
        Self.shared.withLock { shared in
            shared.monitors[ObjectIdentifier(self)] = nil
            guard shared.monitors.isEmpty, let source = shared.source else { return }
            source.cancel()
            shared.source = nil
            shared.interrupted = false
            signal(SIGINT, SIG_DFL)
        }
    }
}
