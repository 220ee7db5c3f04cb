import AgentProtocol
import Foundation
import Testing
@testable import AgentCore

/// The syncs a session holds (issue 21, findings 2 and 7): one destination
/// per sync for all of its requests, released when the session ends.
@Suite("sync state per session")
struct SyncTableTests {
    @Test("another session waits for a destination a session's sync holds; the session's end releases it and forgets its syncs")
    func sessionEndReleases() throws {
        let dir = NSTemporaryDirectory() + "sync-table-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = SyncTable(), second = SyncTable()
        guard case .success(.syncScan(let scan)) = SyncOperations.scan(SyncScanParams(root: dir), syncs: first) else {
            Issue.record("the first scan failed")
            return
        }
        let id = try #require(scan.sync)
        guard case .failure(let busy) = SyncOperations.scan(SyncScanParams(root: dir, waitMs: 20), syncs: second) else {
            Issue.record("a second session's scan went through while the first sync held the destination")
            return
        }
        #expect(busy.code == .busy && busy.message.contains(dir), "\(busy)")
        first.endAll()
        let empty = SyncApplyParams(root: dir, batch: Data("ASB1".utf8), save: true, sync: id)
        guard case .failure(let unknown) = SyncOperations.apply(empty, syncs: first) else {
            Issue.record("an ended sync applied a batch")
            return
        }
        #expect(unknown.code == .unknownSync)
        guard case .success(.syncScan(let again)) = SyncOperations.scan(SyncScanParams(root: dir), syncs: second) else {
            Issue.record("the destination stayed locked after the session ended")
            return
        }
        guard case .success = SyncOperations.apply(SyncApplyParams(root: dir, batch: Data("ASB1".utf8), save: true, sync: again.sync), syncs: second) else {
            Issue.record("the last (empty) batch failed")
            return
        }
    }
}
