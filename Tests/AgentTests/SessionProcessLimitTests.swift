import AgentProtocol
import Foundation
import Testing

/// One session cannot take every process slot and descriptor of the agent.
@Suite("per-session process limit", .timeLimit(.minutes(5)))
struct SessionProcessLimitTests {
    @Test("the exec beyond 2,048 running ones is refused with a clear error; the session goes on")
    func limit() throws {
        let agent = try RawAgent()
        _ = agent.hello()
        var burst = Data()
        for id in 1...2049 {
            burst += Data(#"{"type":"request","id":\#(id),"op":"exec","params":{"argv":["sleep","120"]}}"#.utf8) + Data([0x0A])
        }
        _ = agent.enlargeInputPipe()
        agent.send([UInt8](burst))
        let refusal = try #require(agent.reply(timeout: 120), "no refusal for the exec over the limit")
        #expect(refusal.id == 2049 && refusal.errorCode == "spawn_failed", "\(refusal)")
        let message = ((refusal["error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(message.contains("per-session limit"), "\(message)")
        agent.send(#"{"type":"request","id":5000,"op":"ping"}"#)
        #expect(agent.reply()?.id == 5000)
        // Ending the session kills the 2,048 sleeps.
        agent.closeInput()
        agent.process.waitUntilExit()
    }
}
