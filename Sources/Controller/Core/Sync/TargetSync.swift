import AgentProtocol
import Foundation
import SyncCore

/// What one target's sync did.
public struct SyncSummary: Sendable {
    public var target: String
    public var filesSent = 0
    public var bytesSent: UInt64 = 0
    public var deleted = 0
    /// Directories made, links made, modes changed.
    public var otherChanges = 0
    /// Files the agent had to hash because its cache did not know them.
    public var remoteHashed = 0
    public var duration: Duration = .zero

    public var line: String {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return "\(target): \(filesSent) files sent (\(Self.bytes(bytesSent))), \(deleted) deleted, \(otherChanges) other changes, \(String(format: "%.0f", ms)) ms"
    }

    static func bytes(_ n: UInt64) -> String {
        if n >= 10 << 20 { return String(format: "%.1f MB", Double(n) / 1e6) }
        if n >= 10 << 10 { return String(format: "%.1f kB", Double(n) / 1e3) }
        return "\(n) B"
    }
}

/// Progress of one target, for the TTY line.
public struct SyncProgress: Sendable {
    public var target: String
    public var filesDone: Int
    public var filesTotal: Int
    public var bytesDone: UInt64
    public var bytesTotal: UInt64
}

/// Syncs a scanned source tree into `destination` on one agent: the agent's
/// manifest, the plan, then batches pipelined up to `maxInFlight` requests
/// deep (which bounds memory on both sides: the flow control of the upload).
public struct TargetSync: Sendable {
    public var target: String
    public var client: AgentClient
    public var destination: String
    public var maxInFlight = 8
    /// Take over a populated destination that carries no marker of an earlier sync.
    public var adopt = false
    /// How long to wait for another sync of the same destination to end.
    public var lockTimeout: Duration = .seconds(600)
    /// Told once when another sync holds the destination and this one waits.
    public var onWaiting: @Sendable (String) -> Void = { _ in }
    /// Told once when DEST resolves to another path (a link in its parents).
    public var onResolved: @Sendable (String) -> Void = { _ in }
    var limits = BatchBuilder.Limits()

    public init(target: String, client: AgentClient, destination: String) {
        self.target = target
        self.client = client
        self.destination = destination
    }

    public func run(_ source: SourceTree, progress: @escaping @Sendable (SyncProgress) -> Void = { _ in }) async throws -> SyncSummary {
        let start = ContinuousClock.now
        let (remote, scan) = try await begin()
        var spelled = Substring(destination)
        while spelled.count > 1 && spelled.hasSuffix("/") { spelled = spelled.dropLast() }
        if let root = scan.root, root != spelled {
            onResolved("\(target): DEST \(destination) resolves to \(root)")
        }
        return try await finish(source, remote: remote, scan: scan, start: start, progress: progress)
    }

    /// Everything after the scan: the plan and its batches, the last of which ends the sync.
    func finish(_ source: SourceTree, remote: Manifest, scan: SyncScanResult, start: ContinuousClock.Instant = .now,
                progress: @escaping @Sendable (SyncProgress) -> Void = { _ in }) async throws -> SyncSummary {
        do {
            return try await apply(source, remote: remote, scan: scan, start: start, progress: progress)
        } catch {
            // The agent ends a sync on its own errors; after ours it must hear, or it holds DEST until the session ends.
            try? await client.syncAbort(root: destination, sync: scan.sync)
            throw error
        }
    }

    /// `sync.scan`, waiting while another sync holds the destination, up to `lockTimeout`.
    func begin() async throws -> (Manifest, SyncScanResult) {
        let deadline = ContinuousClock.now + lockTimeout
        var waiting = false
        while true {
            let left = deadline - ContinuousClock.now
            let waitMs = waiting ? Int(max(0, min(5.0, Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18)) * 1000) : 0
            do {
                return try await client.syncManifest(root: destination, adopt: adopt, waitMs: waitMs)
            } catch let error as AgentClientError where error.remote?.code == .busy {
                if ContinuousClock.now >= deadline {
                    throw SyncError(.busy, "another sync to \(destination) was still running after \(lockTimeout.components.seconds) s; sync again when it has ended (or give --lock-timeout more seconds)")
                }
                if !waiting {
                    waiting = true
                    onWaiting("\(target): waiting for another sync to \(destination) to finish (at most \(lockTimeout.components.seconds) s)")
                }
            }
        }
    }

    private func apply(_ source: SourceTree, remote: Manifest, scan: SyncScanResult, start: ContinuousClock.Instant,
                     progress: @escaping @Sendable (SyncProgress) -> Void) async throws -> SyncSummary {
        var summary = SyncSummary(target: target)
        let sync = scan.sync
        summary.remoteHashed = scan.hashedFiles
        let plan = SyncPlan(source: source.manifest, destination: remote)
        summary.deleted = plan.deletions
        summary.otherChanges = plan.before.count - plan.deletions + plan.after.count
        if plan.isEmpty {
            // Nothing to change; the last (empty) batch ends the sync and frees the destination.
            try await client.syncApply(root: destination, sync: sync, batch: SyncBatch.encode([]), save: true)
            summary.duration = ContinuousClock.now - start
            return summary
        }
        // Structure first, in order: deletions, directories, links.
        let structure = Self.split(plan.before, limit: limits.batchBytes)
        let structureOnly = plan.sends.isEmpty && plan.after.isEmpty
        for (i, batch) in structure.enumerated() {
            try await client.syncApply(root: destination, sync: sync, batch: SyncBatch.encode(batch), save: structureOnly && i == structure.count - 1)
        }
        // Content, pipelined: the agent applies batches in the order they arrive,
        // and pieces of a large file in any order.
        let builder = BatchBuilder(reader: source.reader, sends: plan.sends, limits: limits)
        let client = self.client, destination = self.destination
        var inFlight: [Task<Int, Error>] = []
        var filesDone = 0
        let total = plan.sendBytes
        // The last content batch carries "save" when no mode changes follow, which saves a round trip.
        let saveWithContent = plan.after.isEmpty
        do {
            var next = try await offPool({ try builder.next() })
            while let actions = next {
                next = try await offPool({ try builder.next() })
                if inFlight.count >= maxInFlight { filesDone += try await inFlight.removeFirst().value }
                let batch = SyncBatch.encode(actions)
                let save = saveWithContent && next == nil
                // "save" ends the sync on the agent, which then drops unfinished uploads. Batches
                // in flight are sent from separate tasks, in no set order: the saving one must
                // wait until every other batch has been applied, or a large file's last pieces
                // can arrive after it and never be renamed into place.
                if save {
                    for task in inFlight { filesDone += try await task.value }
                    inFlight = []
                }
                let files = actions.reduce(0) { n, a in
                    switch a {
                    case .file: n + 1
                    case .chunk(let c): c.finalDigest != nil ? n + 1 : n
                    default: n
                    }
                }
                inFlight.append(Task {
                    try await client.syncApply(root: destination, sync: sync, batch: batch, save: save)
                    return files
                })
                progress(SyncProgress(target: target, filesDone: filesDone, filesTotal: plan.sends.count, bytesDone: builder.bytesRead, bytesTotal: total))
            }
            for task in inFlight { filesDone += try await task.value }
            inFlight = []
        } catch {
            for task in inFlight { _ = try? await task.value }
            throw error
        }
        summary.filesSent = plan.sends.count
        summary.bytesSent = builder.bytesRead
        // Modes last (a read-only directory closes after its content arrived); the agent saves its cache.
        let after = Self.split(plan.after, limit: limits.batchBytes)
        for (i, batch) in after.enumerated() {
            try await client.syncApply(root: destination, sync: sync, batch: SyncBatch.encode(batch), save: i == after.count - 1)
        }
        summary.duration = ContinuousClock.now - start
        return summary
    }

    /// Consecutive runs of actions of about `limit` bytes.
    static func split(_ actions: [SyncAction], limit: Int) -> [[SyncAction]] {
        var out: [[SyncAction]] = []
        var current: [SyncAction] = []
        var size = 0
        for action in actions {
            let cost = action.path.bytes.count + 16 + {
                if case .symlink(_, let t) = action { return t.count }
                return 0
            }()
            if size + cost > limit && !current.isEmpty {
                out.append(current)
                current = []
                size = 0
            }
            current.append(action)
            size += cost
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
