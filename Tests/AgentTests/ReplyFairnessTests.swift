import AgentProtocol
import Foundation
import Glibc
import Testing

/// Issue 12: 1,000 execs sent at once on one connection all got their
/// replies at the end (the agent spawned every one before serving any exit).
@Suite("replies go out as each exec finishes", .timeLimit(.minutes(5)))
struct ReplyFairnessTests {
    /// An ordering check, not a timing one: when the test receives the first
    /// exec reply it creates a marker file; the last execs of the burst test
    /// for it. If every reply were held until all execs had started, none of
    /// them could see the marker.
    @Test("during a burst of 1,000 execs, early replies arrive before later execs start")
    func earlyRepliesDuringBurst() throws {
        let marker = NSTemporaryDirectory() + "fairness-\(UUID().uuidString)"
        defer { unlink(marker) }
        // The probes sit inside the first 64 KiB, the agent's read size: an
        // agent that handled a whole read before serving exits would start
        // them all before sending any reply.
        let count = 1000, probes = 700..<800
        let agent = try RawAgent()
        #expect(agent.hello()?["type"] as? String == "hello")
        var burst = Data()
        for id in 1...count {
            let argv = probes.contains(id) ? #"["test","-e",\#(String(decoding: try JSONEncoder().encode(marker), as: UTF8.self))]"# : #"["true"]"#
            burst += Data(#"{"type":"request","id":\#(id),"op":"exec","params":{"argv":\#(argv)}}"#.utf8) + Data([0x0A])
        }
        let probeEnd = burst.range(of: Data(#""id":\#(probes.upperBound),"#.utf8))!.lowerBound
        #expect(probeEnd < 64 * 1024)
        // One write into a pipe that holds it all: the agent reads the burst as it is.
        #expect(agent.enlargeInputPipe())
        agent.send([UInt8](burst))
        var replies = 0, probesSawMarker = 0, failures: [String] = []
        while replies < count {
            // A generous hang detector: the burst takes seconds on a loaded 2-core machine.
            let reply = try #require(agent.reply(timeout: 120), "reply \(replies + 1) of \(count) never came")
            replies += 1
            if replies == 1 { FileManager.default.createFile(atPath: marker, contents: Data()) }
            guard let id = reply.id, let result = reply["result"] as? [String: Any] else {
                failures.append("\(reply)")
                continue
            }
            if probes.contains(Int(id)), (result["exitCode"] as? NSNumber)?.intValue == 0 { probesSawMarker += 1 }
        }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        #expect(probesSawMarker > 0, "none of the \(probes.count) probe execs started after the first reply had been sent")
    }
}
