import AgentProtocol
import Testing

@Suite("Line framing")
struct LineFramerTests {
    func frame(_ chunks: [[UInt8]], max: Int = 64) -> [LineFramer.Item] {
        var framer = LineFramer(maxLineLength: max)
        var items: [LineFramer.Item] = []
        for chunk in chunks { framer.push(chunk) { items.append($0) } }
        if let tail = framer.finish() { items.append(tail) }
        return items
    }

    @Test("every split point of a stream gives the same lines")
    func everySplitPoint() {
        let stream = Array("{\"a\":1}\n\n{\"b\":\"ü\"}\nxyz\n".utf8)
        let expected = frame([stream])
        #expect(expected == [.line(Array("{\"a\":1}".utf8)), .line([]), .line(Array("{\"b\":\"ü\"}".utf8)), .line(Array("xyz".utf8))])
        for i in 0...stream.count {
            for j in i...stream.count {
                #expect(frame([Array(stream[..<i]), Array(stream[i..<j]), Array(stream[j...])]) == expected, "split at \(i), \(j)")
            }
        }
        #expect(frame(stream.map { [$0] }) == expected, "byte by byte")
    }

    @Test("a line of exactly the limit passes; one byte more is reported and skipped")
    func limit() {
        let atLimit = [UInt8](repeating: 0x61, count: 64)
        let over = [UInt8](repeating: 0x62, count: 65)
        for split in [1, 30, 64, 65] {
            let stream = atLimit + [0x0A] + over + [0x0A] + Array("ok\n".utf8)
            let items = frame([Array(stream[..<split]), Array(stream[split...])])
            #expect(items == [.line(atLimit), .oversized(length: 65), .line(Array("ok".utf8))], "split \(split)")
        }
    }

    @Test("an oversized line spread over many chunks is reported once")
    func oversizedAcrossChunks() {
        let chunks = Array(repeating: [UInt8](repeating: 0x61, count: 50), count: 10) + [[0x0A, 0x62, 0x0A]]
        #expect(frame(chunks) == [.oversized(length: 500), .line([0x62])])
    }

    @Test("an unterminated tail comes out at the end")
    func tail() {
        #expect(frame([Array("a\nbc".utf8)]) == [.line([0x61]), .line([0x62, 0x63])])
    }
}
