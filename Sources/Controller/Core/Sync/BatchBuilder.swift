import SyncCore

/// Turns the files a plan sends into `sync.apply` batches of about
/// `batchBytes`: small files whole, large ones in pieces whose last piece
/// (with the digest) goes out only if the file did not change while read.
final class BatchBuilder: @unchecked Sendable {
    struct Limits: Sendable {
        var batchBytes = 2 * 1024 * 1024
        var smallFile = 1024 * 1024
        var chunk = 1024 * 1024
    }

    private let reader: SourceReader
    private let sends: [ManifestEntry]
    private let limits: Limits
    private var index = 0
    private var large: Large?
    private(set) var bytesRead: UInt64 = 0

    private struct Large {
        var entry: ManifestEntry
        var file: SourceReader.OpenFile
        var upload: UInt64
        var offset: UInt64 = 0
        var hasher = SHA256Hasher()
        var attempts = 1
    }

    init(reader: SourceReader, sends: [ManifestEntry], limits: Limits) {
        self.reader = reader
        self.sends = sends
        self.limits = limits
    }

    /// The next batch's actions, or nil when everything has been handed out. Blocking I/O.
    func next() throws -> [SyncAction]? {
        var actions: [SyncAction] = []
        var size = 0
        // A batch never exceeds batchBytes (plus per-action overhead), so its line stays under the limit.
        while true {
            if large != nil {
                if size + limits.chunk > limits.batchBytes && !actions.isEmpty { break }
                if let piece = try nextPiece() {
                    size += piece.count + 64
                    actions.append(piece.action)
                }
                continue
            }
            guard index < sends.count else { break }
            let entry = sends[index]
            let cost = Int(min(entry.size, UInt64(limits.smallFile))) + entry.path.bytes.count + 16
            if size + cost > limits.batchBytes && !actions.isEmpty { break }
            index += 1
            if entry.size <= UInt64(limits.smallFile) {
                let (data, mode) = try reader.readWhole(entry.path, limit: limits.smallFile)
                bytesRead += UInt64(data.count)
                actions.append(.file(entry.path, mode: mode, data: data))
                size += data.count + entry.path.bytes.count + 16
            } else {
                large = Large(entry: entry, file: try reader.open(entry.path), upload: UInt64.random(in: 1...UInt64.max))
            }
        }
        return actions.isEmpty ? nil : actions
    }

    /// One piece of the current large file; nil when it was restarted because it changed.
    private func nextPiece() throws -> (action: SyncAction, count: Int)? {
        guard var l = large else { return nil }
        let total = l.file.size
        let data = try l.file.read(at: l.offset, count: Int(min(UInt64(limits.chunk), total - l.offset)))
        bytesRead += UInt64(data.count)
        l.hasher.update(data)
        let end = l.offset + UInt64(data.count)
        let isLast = end >= total || data.isEmpty
        if isLast && (end != total || !l.file.unchanged()) {
            // Changed while read: start again under a new upload (the agent drops the old temporary file).
            guard l.attempts < 3 else {
                throw SyncError(.changing, "\(reader.rootPath)/\(l.entry.path) kept changing while it was read (3 tries); sync again when it is quiet")
            }
            large = Large(entry: l.entry, file: try reader.open(l.entry.path), upload: UInt64.random(in: 1...UInt64.max), attempts: l.attempts + 1)
            return nil
        }
        let piece = SyncAction.Chunk(path: l.entry.path, mode: l.file.mode, upload: l.upload, offset: l.offset, totalSize: total,
                                     finalDigest: isLast ? l.hasher.finalize() : nil, data: data)
        l.offset = end
        large = isLast ? nil : l
        return (.chunk(piece), data.count)
    }
}
