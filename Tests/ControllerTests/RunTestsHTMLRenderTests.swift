import Foundation
import Testing
import TestSupport

/// The HTML report opened in a real headless browser (Chromium from Debian).
@Suite("run-tests HTML report in Chromium", .serialized)
struct RunTestsHTMLRenderTests {
    static var chromiumPath: String? { RunTestsHarness.which("chromium") ?? RunTestsHarness.which("chromium-browser") }

    @Test("the page loads, the timeline has one bar per attempt, and it paints",
          .requires(Requirement("chromium is not installed (apt-get install chromium)") { chromiumPath != nil }))
    func rendersInChromium() async throws {
        let chromium = try #require(Self.chromiumPath, "chromium is not installed (apt-get install chromium)")
        let harness = try RunTestsHarness()
        defer { harness.cleanUp() }
        let html = harness.scratch.appendingPathComponent("report.html")
        let json = harness.scratch.appendingPathComponent("r.jsonl")
        let run = try await harness.run(RunTestsHarness.sampleSuite + ["--target", "local:3", "--env", "SAMPLE_FAIL=1",
                                                                       "--html", html.path, "--json-report", json.path])
        #expect(run.status == 1)
        let attempts = try RunTestsHarness.events(json).count

        let profile = harness.scratch.appendingPathComponent("chromium-profile").path
        let common = ["timeout", "120", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)"]
        let dom = RunTestsHarness.shell(common + ["--dump-dom", html.absoluteString])
        #expect(dom.status == 0, "chromium: \(dom.output.suffix(2000))")
        // The DOM as the browser built it: the SVG parsed into elements, failures and counts present.
        #expect(dom.output.contains("<svg id=\"timeline\""))
        #expect(dom.output.components(separatedBy: "<rect class=\"test ").count - 1 == attempts)
        #expect(dom.output.contains("1 failed"))
        #expect(dom.output.contains("+total: 41"))

        let png = harness.scratch.appendingPathComponent("report.png")
        let shot = RunTestsHarness.shell(common + ["--window-size=1100,900", "--screenshot=\(png.path)", html.absoluteString])
        #expect(shot.status == 0, "chromium: \(shot.output.suffix(2000))")
        let size = (try? FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
        // A blank 1100x900 page compresses to a few KB; the report with its timeline is far larger.
        #expect(size > 20_000, "screenshot is \(size) bytes")
    }
}
