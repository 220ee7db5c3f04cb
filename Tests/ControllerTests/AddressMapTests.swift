import AutomationKit
import SSH
import Testing

@Suite("address map ($AUTOMATION_ADDRESS_MAP)")
struct AddressMapTests {
    let map: AddressMap

    init() throws {
        map = try AddressMap(parsing: """
            # simulated cloud
            203.0.113.7      127.0.0.1:40022
            203.0.113.8:2222 10.0.0.8      # port kept from the target
            203.0.113.8      10.0.0.9:22
            [2001:db8::1]    [::1]:2200

            """, source: "test")
    }

    @Test func aRejectRuleRefusesUnmappedHosts() throws {
        let closed = try AddressMap(parsing: "203.0.113.7 127.0.0.1:40022\n* reject\n", source: "test")
        #expect(try closed.apply(SSHEndpoint(user: "hg", host: "203.0.113.7")).via == .init(host: "127.0.0.1", port: 40022))
        #expect(throws: SSHError.self) { try closed.apply(SSHEndpoint(user: "hg", host: "54.214.0.1")) }
        #expect(throws: UsageError.self) { try AddressMap(parsing: "* 127.0.0.1", source: "test") }
    }

    @Test func mapsHostsAndKeepsTheLogicalName() throws {
        let mapped = try map.apply(SSHEndpoint(user: "hg", host: "203.0.113.7"))
        #expect(mapped.host == "203.0.113.7" && mapped.port == 22)
        #expect(mapped.via == SSHEndpoint.Address(host: "127.0.0.1", port: 40022))
        #expect(mapped.connectAddress == SSHEndpoint.Address(host: "127.0.0.1", port: 40022))
        #expect(mapped.description == "hg@203.0.113.7 (via 127.0.0.1:40022)")
    }

    @Test func anExactPortLineBeatsAHostLine() throws {
        #expect(try map.apply(SSHEndpoint(user: "hg", host: "203.0.113.8", port: 2222)).via == .init(host: "10.0.0.8", port: 2222))
        #expect(try map.apply(SSHEndpoint(user: "hg", host: "203.0.113.8", port: 22)).via == .init(host: "10.0.0.9", port: 22))
        #expect(try map.apply(SSHEndpoint(user: "hg", host: "2001:db8::1")).via == .init(host: "::1", port: 2200))
    }

    @Test func unmappedHostsAreUntouched() throws {
        let plain = SSHEndpoint(user: "hg", host: "198.51.100.1")
        #expect(try map.apply(plain) == plain)
        #expect(try AddressMap().apply(plain) == plain)
    }

    @Test func badLinesNameTheFileAndLine() {
        for text in ["a", "a b c", "a b:0", "a b:65536", "a b:x", "::1 b", "[::1 b", "a [::1]x"] {
            #expect(throws: UsageError.self, "\(text)") { try AddressMap(parsing: "# ok\n" + text, source: "map.txt") }
        }
        do {
            _ = try AddressMap(parsing: "ok 127.0.0.1\nbad", source: "map.txt")
            Issue.record("accepted a bad line")
        } catch let error as UsageError {
            #expect(error.message.hasPrefix("map.txt, line 2:"))
        } catch { Issue.record("\(error)") }
    }

    @Test func aMissingFileIsAUsageError() {
        #expect(throws: UsageError.self) { try AddressMap.fromEnvironment([AddressMap.variable: "/nonexistent/map"]) }
        #expect((try? AddressMap.fromEnvironment([:])) == AddressMap())
    }
}
