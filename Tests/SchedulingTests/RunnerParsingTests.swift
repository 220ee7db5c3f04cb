import Foundation
import Testing
@testable import Scheduling

@Suite("Runner parsing")
struct RunnerParsingTests {
    @Test("command templates split like a shell without expanding anything")
    func template() throws {
        let t = try CommandTemplate(#"sh -c 'echo "$1" $HOME' _ {test} "a b" c\ d "q\"x""#)
        #expect(t.words == ["sh", "-c", #"echo "$1" $HOME"#, "_", "{test}", "a b", "c d", #"q"x"#])
        #expect(t.argv(test: "x;rm -rf /") == ["sh", "-c", #"echo "$1" $HOME"#, "_", "x;rm -rf /", "a b", "c d", #"q"x"#])
        #expect(try CommandTemplate("./run").argv(test: "t1") == ["./run", "t1"])
        #expect(try CommandTemplate("run --name={test}.log").argv(test: "t") == ["run", "--name=t.log"])
        #expect(throws: CommandTemplate.ParseError.self) { try CommandTemplate("echo 'oops") }
        #expect(throws: CommandTemplate.ParseError.self) { try CommandTemplate("   ") }
    }

    @Test("lines are reassembled across chunk boundaries")
    func lines() {
        var splitter = LineSplitter()
        #expect(splitter.feed(Array("ab".utf8)) == [])
        #expect(splitter.feed(Array("c\r\nd\n\ne".utf8)) == ["abc", "d", ""])
        #expect(splitter.finish() == "e")
        #expect(splitter.finish() == nil)
    }

    @Test("result markers are found even after progress dots")
    func markers() {
        let line = #"..!@@automation-result@@ {"test":"test-a.t#b","status":"fail","duration":1.5,"message":"output changed","detail":"--- x\n+++ y"}"#
        let marker = ResultMarker.parse(line)
        #expect(marker == ResultMarker(test: "test-a.t#b", status: .failed, duration: 1.5, message: "output changed", detail: "--- x\n+++ y"))
        #expect(ResultMarker.parse("running 3 tests using 1 parallel processes") == nil)
        #expect(ResultMarker.parse("@@automation-result@@ {broken") == nil)
    }

    @Test("test lists from each runner")
    func lists() {
        #expect(TestListParser.plain("a\n\n# comment\n  b  \n") == ["a", "b"])
        #expect(TestListParser.mercurial("test-a.t\ntest-b.t#x\ntest-c.py\nrunning stuff\n") == ["test-a.t", "test-b.t#x", "test-c.py"])
        let pytest = """
        tests/test_a.py::test_one
        tests/test_a.py::test_two[1-2]

        2 tests collected in 0.01s
        """
        #expect(TestListParser.pytest(pytest) == ["tests/test_a.py::test_one", "tests/test_a.py::test_two[1-2]"])
    }

    @Test("output tails keep the end and say what was cut")
    func tail() {
        var tail = OutputTail(limit: 4)
        tail.append(Array("0123456789".utf8))
        #expect(tail.text == "[… 6 bytes cut …]\n6789")
        var short = OutputTail(limit: 100)
        short.append(Array("hi".utf8))
        #expect(short.text == "hi")
    }
}
